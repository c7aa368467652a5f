#!/usr/bin/env bash
# kafka-broker.sh - a real, throwaway, single-node Apache Kafka broker (KRaft,
# broker+controller in one JVM) on 127.0.0.1, for developers, CI and tests.
#
# Kafka itself is not installed anywhere: its jars come from Maven Central
# through the throwaway pom scripts/kafka/pom.xml and are cached. Needs Java 17+,
# Maven (only for the first fetch), bash, coreutils, flock.
#
# Usage:
#   scripts/kafka-broker.sh fetch
#       Copy kafka_2.13 + slf4j-simple and their runtime closure into the
#       cache folder, then format a storage template and record a JVM
#       class-data archive there (both make every later start faster).
#       Does nothing when the cache is already complete.
#
#   scripts/kafka-broker.sh start [--dir DIR] [--port PORT] [--host IPV4] [--owner-pid PID]
#                                 [--timeout SECS]
#       Fetch if needed, write DIR/server.properties, format DIR/data, start
#       the broker in the background and wait until it answers a Metadata
#       request listing itself. Prints exactly one line on stdout, the
#       bootstrap address `HOST:PORT` (also written to DIR/bootstrap);
#       everything else goes to stderr. Without --dir a fresh mktemp folder is
#       used (its path is printed on stderr). Without --port, free ports are
#       picked for the client and the controller listener. --host binds and
#       advertises the client listener on that IPv4 address instead of
#       127.0.0.1 (for tests with hosts in network namespaces; the controller
#       stays on 127.0.0.1). --owner-pid PID
#       stops the broker as soon as process PID is gone (for test processes
#       that may die without cleaning up, e.g. a broker shared through a
#       static). Starting a DIR whose broker already runs just prints its
#       address; a stopped DIR is started again with its data. On timeout
#       (default 90 s) or early exit the end of the log is shown, the broker
#       is killed, and the exit status is non-zero.
#
#   scripts/kafka-broker.sh stop --dir DIR [--rm]
#       SIGTERM, wait up to 20 s, then SIGKILL. Idempotent. --rm then deletes
#       DIR (only if it holds a server.properties written by this script).
#
#   scripts/kafka-broker.sh status --dir DIR
#       Exit 0 and print the bootstrap address if DIR's broker runs, else 1.
#
# Files in DIR: server.properties, data/ (log.dirs), broker.log, broker.pid,
# bootstrap, and watchdog.pid / watchdog.log with --owner-pid.
#
# Environment:
#   ONSLAUGHT_KAFKA_CACHE      jar folder (default ~/.cache/onslaught/kafka-VERSION)
#   ONSLAUGHT_KAFKA_JAVA_OPTS  extra JVM options, appended to the defaults
#   JAVA_HOME                  java to use (default: java on PATH)
#
# Calls with different DIRs may run concurrently (each broker gets its own
# ports; a concurrent first fetch is serialised by a lock). Example:
#   dir=$(mktemp -d); addr=$(scripts/kafka-broker.sh start --dir "$dir")
#   kcat -b "$addr" -L
#   scripts/kafka-broker.sh stop --dir "$dir" --rm
#
# Timings on the 2-core dev machine: first fetch 3-7 s from Maven Central plus
# 5-8 s to prepare the cache (once); start 0.8-1.5 s; stop ~0.4 s.
#
# This broker is only a test fixture: nothing in onslaught may depend on its
# particular settings; users run against any Kafka-compatible cluster.

set -euo pipefail

# The pinned versions. slf4j-simple's major version must match the slf4j-api
# that kafka_2.13 resolves to (checked after the fetch).
readonly KAFKA_VERSION=4.1.1
readonly SLF4J_VERSION=1.7.36

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
readonly SELF
readonly POM="${SELF%/*}/kafka/pom.xml"
readonly CACHE="${ONSLAUGHT_KAFKA_CACHE:-$HOME/.cache/onslaught/kafka-$KAFKA_VERSION}"
readonly MARKER="$CACHE/.onslaught-complete"
if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
readonly JAVA

# Small heap, serial GC and C1 only: the broker starts faster (C1 alone saves
# ~0.7 s) and stays light on a 2-core machine; it only carries test traffic.
DEFAULT_JAVA_OPTS=(
  -Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  -Dorg.slf4j.simpleLogger.showDateTime=true
  -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
)
readonly DEFAULT_JAVA_OPTS

# Ports are picked below the Linux ephemeral range (32768+), so outgoing
# connections never hold them.
readonly PORT_MIN=20000 PORT_SPAN=12000
readonly START_ATTEMPTS=3   # retries only when an auto-picked port was taken
readonly STOP_TIMEOUT=20

log() { printf 'kafka-broker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  # Print the header comment (up to the first blank line) as help.
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$SELF" >&2
  exit "${1:-2}"
}

# ---------------------------------------------------------------- small helpers

# now_ms: wall clock in milliseconds, for timing messages.
now_ms() { date +%s%3N; }

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1 stat
  [[ -n "$pid" ]] || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
    stat=${stat##*) }            # the field after "(comm) " is the state
    [[ "${stat%% *}" != Z ]]
  else
    kill -0 "$pid" 2>/dev/null
  fi
}

# broker_pid DIR: print the pid of DIR's broker if it is running.
broker_pid() {
  local dir=$1 pid cmdline
  [[ -f "$dir/broker.pid" ]] || return 1
  pid=$(<"$dir/broker.pid")
  alive "$pid" || return 1
  # Guard against pid reuse: the process must be our java on DIR's config.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    [[ "$cmdline" == *"kafka.Kafka $dir/server.properties"* ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# The address the client listener binds and advertises (`start --host`; default 127.0.0.1).
# The controller listener always stays on 127.0.0.1.
HOST=127.0.0.1

# port_free PORT [HOST]: nothing accepts connections on HOST:PORT (default 127.0.0.1).
port_free() {
  ! (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# pick_port [EXCLUDE]: a port that is currently free.
pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % PORT_SPAN))
    [[ "$p" != "${1:-}" ]] && port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free port found in $PORT_MIN..$((PORT_MIN + PORT_SPAN - 1))"
}

# metadata_ok PORT: send a Kafka Metadata v4 request (all topics) and check
# that the answer lists this broker as 127.0.0.1:PORT. Brokers only answer
# once request processing is enabled, and only list unfenced brokers, so this
# is the real "ready" signal (an open port is not: it is bound earlier).
metadata_ok() {
  local port=$1
  (
    exec 3<>"/dev/tcp/$HOST/$port" || exit 1
    # size=20 | api_key=3 (Metadata) | version=4 | correlation_id=7
    # | client_id="probe" | topics=null (all) | allow_auto_topic_creation=false
    printf '\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x07\x00\x05probe\xff\xff\xff\xff\x00' >&3
    len=$(timeout 2 head -c 4 <&3 | od -An -tu4 --endian=big | tr -d ' \n')
    [[ "$len" =~ ^[0-9]+$ && "$len" -gt 0 && "$len" -lt 10000000 ]] || exit 1
    body=$(timeout 2 head -c "$len" <&3 | od -An -v -tx1 | tr -d ' \n')
    # correlation_id 7, then a broker entry: host "$HOST" (length-prefixed), port.
    [[ "$body" == 00000007* ]] || exit 1
    [[ "$body" == *"$(printf '%04x' "${#HOST}")$(printf '%s' "$HOST" | od -An -tx1 | tr -d ' \n')$(printf '%08x' "$port")"* ]]
  ) 2>/dev/null
}

# new_uuid: a random Kafka Uuid (16 bytes, URL-safe base64, no padding), made
# in bash to spare a JVM start (`StorageTool random-uuid` does the same).
new_uuid() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ "$id" == -* ]] || break   # Kafka never hands out ids starting with '-'
  done
  printf '%s\n' "$id"
}

# ---------------------------------------------------------------- broker helpers

# show_log FILE: the errors and the end of a broker log, on stderr. (The
# shutdown that follows a fatal error buries it under many lines.)
show_log() {
  local file=$1
  [[ -s "$file" ]] || { log "$file is empty"; return 0; }
  if grep -qE 'ERROR|FATAL|Exception|^Error' "$file"; then
    log "errors in $file:"
    grep -E 'ERROR|FATAL|Exception|^Error' "$file" | tail -n 15 >&2
  fi
  log "end of $file:"
  tail -n 25 "$file" >&2
}

# write_config DIR PORT CPORT
write_config() {
  local dir=$1 port=$2 cport=$3
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka-broker.sh: single-node KRaft test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://$HOST:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data

# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Tests: auto-created topics, no waiting before the first group rebalance.
auto.create.topics.enable=true
num.partitions=3
group.initial.rebalance.delay.ms=0

# Light on a small machine (the cleaner's default buffer is 128 MiB).
log.cleaner.dedupe.buffer.size=4194304
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
}

# format_with_tool DIR: the official way, `StorageTool format` (a JVM, ~0.8 s).
format_with_tool() {
  local dir=$1 out
  if ! out=$("$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
      -cp "$CACHE/*" kafka.tools.StorageTool format \
      -t "$(new_uuid)" -c "$dir/server.properties" --ignore-formatted 2>&1); then
    printf '%s\n' "$out" >&2
    die "formatting $dir/data failed"
  fi
}

# init_storage DIR: format DIR/data unless it already is. `fetch` formats a
# template once with StorageTool; a new DIR gets a copy of it (the binary
# bootstrap.checkpoint holds only feature levels) with fresh cluster and
# directory ids in meta.properties. That spares a JVM start per broker.
init_storage() {
  local dir=$1 tpl="$CACHE/storage-template"
  [[ -f "$dir/data/meta.properties" ]] && return 0
  if [[ -f "$tpl/meta.properties" && -f "$tpl/bootstrap.checkpoint" ]]; then
    mkdir -p "$dir/data"
    cp "$tpl/bootstrap.checkpoint" "$dir/data/"
    sed -e "s/^cluster\.id=.*/cluster.id=$(new_uuid)/" \
        -e "s/^directory\.id=.*/directory.id=$(new_uuid)/" \
        "$tpl/meta.properties" >"$dir/data/meta.properties.tmp"
    mv "$dir/data/meta.properties.tmp" "$dir/data/meta.properties"
  else
    format_with_tool "$dir"
  fi
}

# launch DIR [JAVA_OPTION...]: start the broker in the background, print its
# pid. All of its standard streams are redirected, so a caller that reads our
# stdout to EOF is not held up by the broker.
launch() {
  local dir=$1; shift
  local -a opts=("${DEFAULT_JAVA_OPTS[@]}")
  # The class-data archive made by `fetch` halves the JVM's start-up work.
  [[ -f "$CACHE/kafka.jsa" ]] && opts+=("-XX:SharedArchiveFile=$CACHE/kafka.jsa")
  opts+=("$@")
  # Word splitting of the user's extra options is intended.
  # shellcheck disable=SC2206
  [[ -n "${ONSLAUGHT_KAFKA_JAVA_OPTS:-}" ]] && opts+=(${ONSLAUGHT_KAFKA_JAVA_OPTS})
  (cd "$dir" && exec "$JAVA" "${opts[@]}" -cp "$CACHE/*" kafka.Kafka "$dir/server.properties") \
    </dev/null >>"$dir/broker.log" 2>&1 &
  printf '%s\n' "$!"
}

# wait_ready PID PORT TIMEOUT: 0 once the broker answers, 1 if the process
# exited, 2 on timeout.
wait_ready() {
  local pid=$1 port=$2 deadline=$((SECONDS + $3))
  while alive "$pid"; do
    metadata_ok "$port" && return 0
    ((SECONDS < deadline)) || return 2
    sleep 0.05
  done
  return 1
}

# terminate PID: SIGTERM, wait up to STOP_TIMEOUT seconds, then SIGKILL.
terminate() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 20; i++)); do
    alive "$pid" || return 0
    sleep 0.05
  done
  log "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
  kill_now "$pid"
}

# kill_now PID: make sure PID is gone (after a failed start).
kill_now() {
  local pid=$1 i
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || return 0; sleep 0.1; done
}

# ---------------------------------------------------------------- fetch

# make_template: format a storage template once (see init_storage).
make_template() {
  local dir
  dir=$(mktemp -d "$CACHE.fmt.XXXXXX")
  write_config "$dir" 1 2   # `format` does not use the ports
  format_with_tool "$dir"
  mkdir -p "$CACHE/storage-template"
  cp "$dir/data/meta.properties" "$dir/data/bootstrap.checkpoint" "$CACHE/storage-template/"
  rm -rf "$dir"
}

# make_class_archive: run a broker once with -XX:ArchiveClassesAtExit, so that
# later brokers map the classes it loaded instead of parsing the jars again
# (~1.4 s -> ~0.7 s of JVM start-up). Best effort: without the archive brokers
# still start, only slower. Under -Xshare:auto the JVM quietly ignores an
# archive that no longer fits (another JDK, changed jars).
make_class_archive() {
  local dir port cport pid
  dir=$(mktemp -d "$CACHE.cds.XXXXXX")
  port=$(pick_port)
  cport=$(pick_port "$port")
  write_config "$dir" "$port" "$cport"
  init_storage "$dir"
  pid=$(launch "$dir" "-XX:ArchiveClassesAtExit=$dir/kafka.jsa")
  if wait_ready "$pid" "$port" 60; then
    terminate "$pid"   # the archive is written while the JVM exits
  else
    kill_now "$pid"
  fi
  if [[ -s "$dir/kafka.jsa" ]]; then
    mv "$dir/kafka.jsa" "$CACHE/kafka.jsa"
  else
    log "warning: no class-data archive made (brokers will start slower)"
    show_log "$dir/broker.log"
  fi
  rm -rf "$dir"
}

cmd_fetch() {
  [[ $# -eq 0 ]] || usage
  [[ -f "$MARKER" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (needed once, to fetch Kafka's jars)"
  [[ -f "$POM" ]] || die "missing $POM"
  mkdir -p "$(dirname "$CACHE")"
  # Serialise concurrent first fetches. The subshell closes the lock's fd when
  # it ends, so no broker started afterwards holds the lock.
  (
    flock 9
    [[ -f "$MARKER" ]] && exit 0
    # Leftovers of an interrupted fetch (nobody else uses them: we hold the lock).
    rm -rf "$CACHE".tmp.* "$CACHE".fmt.* "$CACHE".cds.*
    local tmp t0 mvn_log api
    t0=$(now_ms)
    tmp=$(mktemp -d "$CACHE.tmp.XXXXXX")
    mvn_log="$tmp.mvn.log"
    log "fetching Apache Kafka $KAFKA_VERSION (kafka_2.13 + slf4j-simple $SLF4J_VERSION) from Maven Central into $CACHE"
    if ! mvn -B -q -f "$POM" \
        -Dkafka.version="$KAFKA_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
      cat "$mvn_log" >&2
      rm -rf "$tmp" "$mvn_log"
      die "maven could not fetch Kafka $KAFKA_VERSION"
    fi
    rm -f "$mvn_log"
    if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
      rm -rf "$tmp"
      die "kafka_2.13-$KAFKA_VERSION.jar missing after the fetch"
    fi
    # The binding must match slf4j-api's major version, or the broker is mute.
    api=$(cd "$tmp" && compgen -G 'slf4j-api-*.jar' | head -n 1) || true
    api=${api#slf4j-api-}
    if [[ "${api%%.*}" != "${SLF4J_VERSION%%.*}" ]]; then
      rm -rf "$tmp"
      die "resolved slf4j-api ${api%.jar} does not match slf4j-simple $SLF4J_VERSION: change SLF4J_VERSION"
    fi
    chmod 755 "$tmp"
    rm -rf "$CACHE"
    mv "$tmp" "$CACHE"
    log "fetched $(compgen -G "$CACHE/*.jar" | wc -l) jars in $(($(now_ms) - t0)) ms; preparing a storage template and a class-data archive"
    make_template
    make_class_archive
    date -u +%FT%TZ >"$MARKER"
    log "cache ready in $(($(now_ms) - t0)) ms"
  ) 9>"$CACHE.lock"
}

# ---------------------------------------------------------------- start

# start_watchdog DIR OWNER_PID BROKER_PID: stop the broker once OWNER is gone.
start_watchdog() {
  local dir=$1 owner=$2 pid=$3
  (
    trap '' HUP INT
    while alive "$owner" && alive "$pid"; do sleep 1; done
    if alive "$pid"; then
      log "owner process $owner is gone: stopping the broker"
      exec "$SELF" stop --dir "$dir"
    fi
  ) </dev/null >>"$dir/watchdog.log" 2>&1 &
  printf '%s\n' "$!" >"$dir/watchdog.pid"
}

cmd_start() {
  local dir="" port="" owner="" timeout=90
  while [[ $# -gt 0 ]]; do
    case $1 in
      --dir) dir=${2:?--dir needs a value}; shift 2 ;;
      --port) port=${2:?--port needs a value}; shift 2 ;;
      --owner-pid) owner=${2:?--owner-pid needs a value}; shift 2 ;;
      --host) HOST=${2:?--host needs a value}; shift 2 ;;
      --timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
      -h|--help) usage 0 ;;
      *) usage ;;
    esac
  done
  [[ -z "$port" || "$port" =~ ^[0-9]+$ ]] || die "bad --port: $port"
  [[ -z "$owner" || "$owner" =~ ^[0-9]+$ ]] || die "bad --owner-pid: $owner"
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "bad --timeout: $timeout"
  [[ -z "$owner" ]] || alive "$owner" || die "owner process $owner is not running"

  cmd_fetch

  if [[ -z "$dir" ]]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/onslaught-kafka.XXXXXX")
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  log "broker dir: $dir"

  local pid
  if pid=$(broker_pid "$dir"); then
    [[ -f "$dir/bootstrap" ]] || die "broker $pid runs in $dir but $dir/bootstrap is missing"
    log "already running (pid $pid)"
    cat "$dir/bootstrap"
    return 0
  fi
  [[ "$HOST" =~ ^[0-9]+(\.[0-9]+){3}$ ]] || die "bad --host: $HOST (an IPv4 address)"
  if [[ -n "$port" ]] && ! port_free "$port" "$HOST"; then
    die "port $port on $HOST is already in use"
  fi

  local attempt t0 cport p offset rc attempt_log
  t0=$(now_ms)
  rm -f "$dir/bootstrap"
  for ((attempt = 1; attempt <= START_ATTEMPTS; attempt++)); do
    p=${port:-$(pick_port)}
    cport=$(pick_port "$p")
    write_config "$dir" "$p" "$cport"
    init_storage "$dir"
    offset=0
    [[ -f "$dir/broker.log" ]] && offset=$(stat -c %s "$dir/broker.log")
    pid=$(launch "$dir")
    printf '%s\n' "$pid" >"$dir/broker.pid"
    log "started java (pid $pid) on ports $p (client) and $cport (controller); waiting up to ${timeout}s"

    rc=0
    wait_ready "$pid" "$p" "$timeout" || rc=$?
    case $rc in
      0)
        printf '%s:%s\n' "$HOST" "$p" >"$dir/bootstrap"
        [[ -z "$owner" ]] || start_watchdog "$dir" "$owner" "$pid"
        log "ready in $(($(now_ms) - t0)) ms; stop with: $SELF stop --dir $dir"
        cat "$dir/bootstrap"
        return 0
        ;;
      2)
        log "broker did not answer within ${timeout}s"
        show_log "$dir/broker.log"
        kill_now "$pid"
        rm -f "$dir/broker.pid"
        exit 1
        ;;
    esac
    # The JVM exited. Another process may have taken an auto-picked port
    # between the check and the bind: then try again with new ports.
    rm -f "$dir/broker.pid"
    attempt_log=$(tail -c +"$((offset + 1))" "$dir/broker.log")
    if [[ "$attempt_log" == *"Address already in use"* &&
          "$attempt_log" != *"127.0.0.1:$port: Address already in use"* ]]; then
      log "a port was taken meanwhile (attempt $attempt/$START_ATTEMPTS)"
      continue
    fi
    break
  done
  log "broker exited during start-up"
  show_log "$dir/broker.log"
  exit 1
}

# ---------------------------------------------------------------- stop / status

# parse_dir_args CMD ARGS...: sets DIR (required) and RM.
parse_dir_args() {
  DIR="" RM=false
  local cmd=$1
  shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
      --rm) [[ "$cmd" == stop ]] || usage; RM=true; shift ;;
      -h|--help) usage 0 ;;
      *) usage ;;
    esac
  done
  [[ -n "$DIR" ]] || die "$cmd needs --dir DIR"
  if [[ -d "$DIR" ]]; then DIR=$(cd "$DIR" && pwd -P); fi
}

cmd_stop() {
  parse_dir_args stop "$@"
  local pid wpid
  # The watchdog (if any) is not needed any more, unless it is us.
  if [[ -f "$DIR/watchdog.pid" ]]; then
    wpid=$(<"$DIR/watchdog.pid")
    [[ "$wpid" == "$$" ]] || kill -TERM "$wpid" 2>/dev/null || true
    rm -f "$DIR/watchdog.pid"
  fi
  if pid=$(broker_pid "$DIR"); then
    log "stopping broker (pid $pid) in $DIR"
    terminate "$pid"
  fi
  rm -f "$DIR/broker.pid"
  if $RM && [[ -d "$DIR" ]]; then
    if grep -qs '^# Written by scripts/kafka-broker.sh' "$DIR/server.properties"; then
      rm -rf "$DIR"
    else
      log "not removing $DIR: it holds no server.properties written by this script"
    fi
  fi
}

cmd_status() {
  parse_dir_args status "$@"
  local pid
  if pid=$(broker_pid "$DIR"); then
    log "running (pid $pid)"
    [[ -f "$DIR/bootstrap" ]] && cat "$DIR/bootstrap"
    return 0
  fi
  log "not running"
  return 1
}

# ---------------------------------------------------------------- main

[[ $# -gt 0 ]] || usage
cmd=$1
shift
case $cmd in
  fetch) cmd_fetch "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  -h|--help|help) usage 0 ;;
  *) usage ;;
esac
