#!/usr/bin/env bash
# compose-test.sh - the compose stack, really built and started (CI runs it from scripts/test.sh).
#
# Installs and starts the Docker engine when missing (Debian's docker.io, docker-compose and
# debootstrap; dockerd started by hand when no init system runs it), builds local base images
# from Debian packages (no registry is needed: debootstrap + docker import, cached as tarballs
# in $ONSLAUGHT_IMAGE_CACHE), a stand-in Kafka image from the Maven jars of
# scripts/kafka-broker.sh (tests/deploy/kafka), and onslaught's image from the project's
# Dockerfile (stage `prebuilt`, with the binary built on the host). Then, with compose.yaml as
# it is: up with --scale driver=3, a test through the published API port against the target
# service, the reports on the volume (aggregate + 3 node reports), scale to 5 drivers and a
# second test (5 node reports), one driver container stopped and seen missing then dead, down -v;
# the published port also serves the dashboard embedded in the binary.
# Prints every step with its duration; cleans up (trap) even when a step fails.
#
#   scripts/compose-test.sh
#
# Environment:
#   ONSLAUGHT_BIN            binary to put in the image (default: target/debug/onslaught, built
#                            here with `cargo build -p onslaught` when missing; build the
#                            dashboard first so it is embedded)
#   ONSLAUGHT_IMAGE_CACHE    base image tarballs (default /var/cache/onslaught)
#   COMPOSE_TEST_TIMEOUT     bound on the whole run in seconds (default 900)
# Needs root (or sudo) to install packages, start dockerd and run debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

readonly SUITE="bookworm"
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly CACHE="${ONSLAUGHT_IMAGE_CACHE:-/var/cache/onslaught}"
readonly TIMEOUT="${COMPOSE_TEST_TIMEOUT:-900}"
readonly RUNTIME_BASE="onslaught-local/bookworm:minbase"
readonly JAVA_BASE="onslaught-local/bookworm:java17"
readonly PROJECT="onslaught-compose-test-$$"
readonly KAFKA_TAG="$PROJECT/kafka:local"
readonly IMAGE_TAG="$PROJECT/onslaught:local"
readonly REQUESTS_PER_DRIVER=200
BIN="${ONSLAUGHT_BIN:-target/debug/onslaught}"

START=$SECONDS
DEADLINE=$((SECONDS + TIMEOUT))
STEP_NAME="" STEP_START=$SECONDS
TIMINGS=()
WORK=""
COMPOSE_UP=false
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

log() { printf 'compose-test: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# step NAME: ends the previous step (printing its duration) and starts NAME.
step() {
  end_step
  STEP_NAME=$1 STEP_START=$SECONDS
  printf '\n--> %s\n' "$STEP_NAME" >&2
  ((SECONDS < DEADLINE)) || die "the run took more than ${TIMEOUT}s"
}
end_step() {
  if [[ -n "$STEP_NAME" ]]; then
    TIMINGS+=("$(printf '%5ss  %s' "$((SECONDS - STEP_START))" "$STEP_NAME")")
    log "$STEP_NAME: done in $((SECONDS - STEP_START)) s"
    STEP_NAME=""
  fi
}

# The Docker CLI from the docker.io package matches its engine; else whatever is on PATH.
DOCKER=docker
COMPOSE=()  # the compose command, chosen once the engine is installed
compose() { "${COMPOSE[@]}" "$@"; }

# poll SECONDS DESCRIPTION COMMAND...: run COMMAND every half second until it succeeds.
poll() {
  local limit=$1 what=$2 until
  shift 2
  until=$((SECONDS + limit))
  ((until < DEADLINE)) || until=$DEADLINE
  until "$@"; do
    ((SECONDS < until)) || die "$what: not within ${limit}s"
    sleep 0.5
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  end_step
  if [[ $rc -ne 0 ]] && $COMPOSE_UP; then
    log "state at the failure:"
    compose ps >&2 || true
    compose logs --no-color --tail 40 >&2 || true
  fi
  printf '\n--> clean-up\n' >&2
  if $COMPOSE_UP; then
    timeout 120 "${COMPOSE[@]}" down -v --remove-orphans -t 5 >&2 \
      || log "warning: compose down failed"
  fi
  "$DOCKER" image rm -f "$IMAGE_TAG" "$KAFKA_TAG" >/dev/null 2>&1 || true
  [[ -z "$WORK" ]] || rm -rf "$WORK"
  printf '\ncompose-test: step timings\n%s\n' "$(printf '%s\n' "${TIMINGS[@]}")" >&2
  if [[ $rc -eq 0 ]]; then
    log "PASSED in $((SECONDS - START)) s"
  else
    log "FAILED (exit $rc) after $((SECONDS - START)) s"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the engine

step "Docker engine, docker-compose and debootstrap"
need=()
[[ -x /usr/sbin/dockerd ]] || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [[ ${#need[@]} -gt 0 ]]; then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[[ ! -x /usr/bin/docker ]] || DOCKER=/usr/bin/docker
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  COMPOSE=("$DOCKER" compose)
fi
COMPOSE+=(-p "$PROJECT" -f "$ROOT/compose.yaml")
if ! timeout 10 "$DOCKER" info >/dev/null 2>&1; then
  log "no Docker engine answers: starting dockerd (log: /var/log/onslaught-dockerd.log)"
  # shellcheck disable=SC2024  # the log is root's
  $SUDO bash -c 'nohup dockerd >>/var/log/onslaught-dockerd.log 2>&1 </dev/null &'
  poll 60 "dockerd answering" timeout 5 "$DOCKER" info
fi
log "$("$DOCKER" version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'), $(docker-compose version --short 2>/dev/null || "$DOCKER" compose version --short)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/onslaught-compose-test.XXXXXX")

# ---------------------------------------------------------------- base images

# base_image TAG NAME PACKAGES: import TAG from $CACHE/NAME.tar (made once with debootstrap).
base_image() {
  local tag=$1 name=$2 packages=$3 tarball="$CACHE/$2.tar"
  if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
    log "$tag: present"
    return 0
  fi
  if [[ ! -s "$tarball" ]]; then
    local dir="$WORK/rootfs-$name"
    log "$tag: debootstrap --variant=minbase --include=$packages $SUITE"
    $SUDO mkdir -p "$CACHE"
    if ! $SUDO timeout 600 debootstrap --variant=minbase --include="$packages" "$SUITE" "$dir" "$MIRROR" \
        >"$WORK/debootstrap-$name.log" 2>&1; then
      tail -n 30 "$WORK/debootstrap-$name.log" >&2
      die "debootstrap of $name failed"
    fi
    $SUDO rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    $SUDO tar -C "$dir" -cf "$tarball.tmp" .
    $SUDO mv "$tarball.tmp" "$tarball"
    $SUDO rm -rf "$dir"
  fi
  log "$tag: docker import $tarball"
  "$DOCKER" import "$tarball" "$tag" >/dev/null
}

step "base images from Debian packages (runtime; Java 17 for Kafka)"
base_image "$RUNTIME_BASE" "$SUITE-minbase" ca-certificates
base_image "$JAVA_BASE" "$SUITE-java17" ca-certificates,openjdk-17-jre-headless

step "Kafka image: Apache Kafka's Maven jars on the Java image (tests/deploy/kafka)"
scripts/kafka-broker.sh fetch
jars="${ONSLAUGHT_KAFKA_CACHE:-$HOME/.cache/onslaught/kafka-4.1.1}"
mkdir -p "$WORK/kafka/libs"
cp "$jars"/*.jar "$WORK/kafka/libs/"
cp tests/deploy/kafka/Dockerfile tests/deploy/kafka/entrypoint.sh \
  tests/deploy/kafka/kafka-broker-api-versions.sh "$WORK/kafka/"
timeout 300 "$DOCKER" build -q --build-arg "JAVA_IMAGE=$JAVA_BASE" -t "$KAFKA_TAG" "$WORK/kafka" >/dev/null

step "onslaught image: the Dockerfile's prebuilt stage with $BIN"
if [[ -z "${ONSLAUGHT_BIN:-}" ]]; then
  cargo build -p onslaught --locked
fi
[[ -x "$BIN" ]] || die "$BIN does not exist"
mkdir -p "$WORK/image"
cp "$BIN" "$WORK/image/onslaught"
strip "$WORK/image/onslaught" 2>/dev/null || true
timeout 300 "$DOCKER" build -q -f Dockerfile --target prebuilt \
  --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" -t "$IMAGE_TAG" "$WORK/image" >/dev/null
"$DOCKER" run --rm "$IMAGE_TAG" --version >&2

# ---------------------------------------------------------------- the stack

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KAFKA_IMAGE="$KAFKA_TAG" ONSLAUGHT_IMAGE="$IMAGE_TAG" ONSLAUGHT_PUBLISH="127.0.0.1:$PORT"
API="http://127.0.0.1:$PORT"
VOLUME=""  # the compose project's `reports` volume, known once the stack is up

# reports_volume: the name docker gave the project's `reports` volume.
reports_volume() {
  "$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$(compose_project)" \
    --filter "label=com.docker.compose.volume=reports"
}
# compose_project: the project name as compose normalised it (labels carry that form).
compose_project() { printf '%s' "$PROJECT" | tr -cd 'a-z0-9_-'; }

# api_json PATH: GET the API.
api_json() { curl -fsS --max-time 5 "$API$1"; }

# alive_drivers: how many drivers the orchestrator sees alive.
alive_drivers() {
  api_json /api/nodes 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for n in json.load(sys.stdin)["nodes"] if n["liveness"] == "alive"))' 2>/dev/null || echo 0
}
drivers_alive() { [[ "$(alive_drivers)" == "$1" ]]; }

# run_test DRIVERS: start a test through the API against the target service, wait for its end,
# check the reports on the volume. Prints the test id.
run_test() {
  local drivers=$1 id status
  id=$(curl -sS --fail-with-body --max-time 10 -X POST "$API/api/tests" -H 'content-type: application/json' \
    -d "{\"test_type\":\"avalanche\",\"url\":\"http://target:8000/ping\",\"requests_per_driver\":$REQUESTS_PER_DRIVER,\"concurrency\":4,\"drivers\":$drivers,\"start\":true}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  log "test $id started on $drivers drivers"
  finished() {
    status=$(api_json "/api/tests/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ "$status" != created && "$status" != configuring && "$status" != running ]]
  }
  poll 120 "test $id finished" finished "$id"
  status=$(api_json "/api/tests/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [[ "$status" == completed ]] || die "test $id ended $status: $(api_json "/api/tests/$id")"
  # The reports, read from the volume by a throwaway container.
  mkdir -p "$WORK/reports-$id"
  "$DOCKER" run --rm -v "$VOLUME:/reports:ro" --entrypoint tar "$RUNTIME_BASE" -C "/reports/$id" -c . \
    | tar -x -C "$WORK/reports-$id"
  python3 - "$WORK/reports-$id" "$drivers" "$REQUESTS_PER_DRIVER" <<'EOF'
import json, pathlib, sys
folder, drivers, per_driver = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
files = {p.name: json.loads(p.read_text()) for p in folder.glob("*.json")}
nodes = sorted(n for n in files if n.startswith("node-"))
assert "test.json" in files, f"no test.json in {sorted(files)}"
assert len(nodes) == drivers, f"{len(nodes)} node reports, expected {drivers}: {nodes}"

test = files["test.json"]
assert test["status"] == "completed", test["status"]
assert len(test["drivers"]) == drivers, test["drivers"]
assert sorted(v.rsplit("/", 1)[-1] for v in test["node_reports"].values()) == nodes, test["node_reports"]
for n in nodes:
    stats = files[n]["stats"]
    assert files[n]["node_id"] in test["drivers"], files[n]["node_id"]
    assert stats["requests_sent"] == per_driver, f"{n}: {stats['requests_sent']} sent, expected {per_driver}"
    assert stats["responses_received"] == per_driver, f"{n}: {stats['responses_received']} responses"
    assert stats["status_codes"] == {"200": per_driver}, f"{n}: {stats['status_codes']}"
total = test["aggregate"]["requests_sent"]
assert total == drivers * per_driver, f"aggregate {total} requests, expected {drivers * per_driver}"
assert total == sum(files[n]["stats"]["requests_sent"] for n in nodes)
print(f"compose-test: reports on the volume: test.json ({total} requests) + {len(nodes)} node reports", file=sys.stderr)
EOF
  echo "$id"
}

step "compose up --scale driver=3 (Kafka healthy, orchestrator, 3 drivers, target)"
COMPOSE_UP=true
timeout 240 "${COMPOSE[@]}" up -d --no-build --scale driver=3 >&2
poll 120 "3 drivers alive on $API/api/nodes" drivers_alive 3
VOLUME=$(reports_volume)
[[ -n "$VOLUME" ]] || die "no reports volume for project $PROJECT"
log "reports volume: $VOLUME"
# The binary alone serves the dashboard embedded in it.
if [[ -f dashboard/dist/index.html ]]; then
  curl -fsS --max-time 5 "$API/" | cmp -s - dashboard/dist/index.html \
    || die "$API/ is not the dashboard's dist/index.html"
  log "$API/ serves the embedded dashboard"
else
  log "dashboard/dist not built: the embedded dashboard is not checked"
fi

step "test 1 through $API against http://target:8000/ping on 3 drivers; reports on the volume"
run_test 3 >/dev/null

step "scale to 5 drivers"
timeout 120 "${COMPOSE[@]}" up -d --no-build --no-recreate --scale driver=5 >&2
poll 120 "5 drivers alive" drivers_alive 5

step "test 2 on 5 drivers; reports on the volume"
run_test 5 >/dev/null

step "stop one driver container: marked missing, then dead"
mapfile -t containers < <(compose ps -q driver)
[[ ${#containers[@]} -eq 5 ]] || die "expected 5 driver containers, found ${#containers[@]}"
victim=${containers[0]}
host=$("$DOCKER" inspect --format '{{.Config.Hostname}}' "$victim")
"$DOCKER" stop -t 5 "$victim" >/dev/null
log "stopped driver container ${victim:0:12} (hostname $host)"
liveness_of() {
  api_json /api/nodes | python3 -c '
import json, sys
host = sys.argv[1]
print(" ".join(n["liveness"] for n in json.load(sys.stdin)["nodes"] if n["node_id"].startswith(host)))' "$1"
}
is_liveness() { [[ "$(liveness_of "$1")" == "$2" ]]; }
t0=$SECONDS
poll 20 "driver $host marked missing" is_liveness "$host" missing
log "missing after $((SECONDS - t0)) s"
poll 30 "driver $host marked dead" is_liveness "$host" dead
log "dead after $((SECONDS - t0)) s"
drivers_alive 4 || die "expected 4 drivers alive, $(alive_drivers)"

step "compose down -v"
timeout 120 "${COMPOSE[@]}" down -v --remove-orphans -t 5 >&2
COMPOSE_UP=false
[[ -z "$(reports_volume)" ]] || die "volume $VOLUME still exists after down -v"
end_step
