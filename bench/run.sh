#!/usr/bin/env bash
# onslaught's benchmark against its peers (wrk, oha, vegeta, Locust; k6 when present), on this
# machine, loopback only. See BENCHMARKS.md for what it measures and the latest results.
#
#   bench/run.sh [--smoke] [--out FILE] [--wait-quiet SECS] [--no-install] [--sections LIST]
#                [--baseline BIN]
#
#   --smoke         a few seconds per tool, debug build, only the cheap installs (Debian
#                   packages); tools that are not installed are skipped and named. Exits
#                   non-zero when the harness itself breaks. CI runs this.
#   --out FILE      write the result tables into FILE; if FILE holds the markers
#                   <!-- bench:begin --> and <!-- bench:end -->, only what is between them is
#                   replaced (so `--out BENCHMARKS.md` keeps the hand-written parts).
#   --wait-quiet S  wait up to S seconds for load average < 0.5 and no compiler running.
#   --no-install    use what is installed.
#   --sections L    comma list of throughput,rate,stall,memory,control,profile (default all).
#   --baseline BIN  an older onslaught binary (e.g. a release build of the commit before a
#                   change) run beside the current one in the throughput section, so a change
#                   is judged before/after against wrk in one run.
#
# Full run: about 12 minutes on the 2-core machine, plus waiting for quiet and the first installs
# (oha compiles from source: minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export CARGO_TERM_COLOR=never

smoke=0 install=1 out="" wait_quiet=0 sections="" baseline=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --out) out="$2"; shift ;;
    --wait-quiet) wait_quiet="$2"; shift ;;
    --no-install) install=0 ;;
    --sections) sections="$2"; shift ;;
    --baseline) baseline="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*" >&2; }

if [ "$install" -eq 1 ]; then
  step "peers"
  if [ "$smoke" -eq 1 ]; then bench/install.sh --cheap; else bench/install.sh; fi
fi

profile=release
[ "$smoke" -eq 1 ] && profile=dev
dir=release
[ "$profile" = dev ] && dir=debug
step "build onslaught ($profile) and the bench helper"
cargo build --profile "$profile" -p onslaught
# The helper is a package of its own (not a workspace member); sharing the target folder reuses
# the workspace's compiled dependencies.
CARGO_TARGET_DIR="$ROOT/target" cargo build --profile "$profile" \
  --manifest-path bench/control-plane/Cargo.toml

step "benchmark"
py_args=(--onslaught "$ROOT/target/$dir/onslaught" --bench-bin "$ROOT/target/$dir/onslaught-bench"
  --command "bench/run.sh ${args[*]:-}" --wait-quiet "$wait_quiet")
[ "$smoke" -eq 1 ] && py_args+=(--smoke)
[ -n "$sections" ] && py_args+=(--sections "$sections")
[ -n "$baseline" ] && py_args+=(--baseline "$baseline")
tables=""
if [ -n "$out" ]; then
  tables="$(mktemp)"
  py_args+=(--out "$tables")
fi
status=0
python3 bench/bench.py "${py_args[@]}" || status=$?

if [ -n "$out" ] && [ -s "$tables" ]; then
  if [ -f "$out" ] && grep -q '<!-- bench:begin -->' "$out" && grep -q '<!-- bench:end -->' "$out"; then
    python3 - "$out" "$tables" <<'EOF'
import sys
out, tables = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read()
head, rest = text.split("<!-- bench:begin -->", 1)
_, tail = rest.split("<!-- bench:end -->", 1)
open(out, "w").write(head + "<!-- bench:begin -->\n" + tables + "<!-- bench:end -->" + tail)
EOF
  else
    cp "$tables" "$out"
  fi
  rm -f "$tables"
  echo "bench: tables written to $out" >&2
fi
exit "$status"
