#!/usr/bin/env bash
# Installs the peer load generators the benchmark compares onslaught with, each from its own
# ordinary registry, at pinned versions, skipping what is already there:
#
#   wrk, nginx-light, GNU time   Debian (apt-get)
#   oha                          crates.io (cargo install --locked)
#   vegeta                       the Go module proxy (go install)
#   locust                       PyPI (pip, in a virtualenv of its own)
#
# k6 is not installed: the workplace's package list marks go.k6.io/k6 "not-to-use" (AGPL). If a
# `k6` is already on PATH, bench.py uses it; otherwise its column says "not installed".
#
# Everything but the Debian packages goes under $ONSLAUGHT_BENCH_CACHE (default
# ~/.cache/onslaught-bench): cargo/bin/oha, go/bin/vegeta, locust-venv/bin/locust. The seconds
# each install took are appended to $ONSLAUGHT_BENCH_CACHE/install-times.tsv.
#
#   bench/install.sh            install everything missing
#   bench/install.sh --cheap    only the Debian packages (seconds); never compiles anything
set -euo pipefail

OHA_VERSION=1.16.0
VEGETA_VERSION=v12.13.0
LOCUST_VERSION=2.47.0

CACHE="${ONSLAUGHT_BENCH_CACHE:-$HOME/.cache/onslaught-bench}"
mkdir -p "$CACHE"
TIMES="$CACHE/install-times.tsv"
cheap=0
[ "${1:-}" = "--cheap" ] && cheap=1

say() { printf 'install: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
timed() { # timed NAME COMMAND...: runs it, records its wall time
  local name=$1; shift
  local t0 secs
  t0=$EPOCHREALTIME
  "$@"
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\n' "$name" "$secs" "$(date -u +%FT%TZ)" >>"$TIMES"
  say "$name installed in $secs s"
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
  # Debian's nginx would start a system service on port 80 when installed; policy-rc.d (the
  # standard way in containers) forbids service starts for the duration of the install.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    made_policy=1
  fi
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  [ "$made_policy" -eq 0 ] || $SUDO rm -f "$policy"
}

need=()
have wrk || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -x /usr/bin/time ] || need+=(time)
have taskset || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  timed "apt:${need[*]}" apt_install "${need[@]}"
fi

if [ "$cheap" -eq 1 ]; then
  exit 0
fi

if ! have oha && [ ! -x "$CACHE/cargo/bin/oha" ]; then
  say "cargo install oha $OHA_VERSION (compiles; several minutes on 2 cores)"
  timed "cargo:oha@$OHA_VERSION" cargo install --quiet --locked oha --version "$OHA_VERSION" \
    --root "$CACHE/cargo"
fi

if ! have vegeta && [ ! -x "$CACHE/go/bin/vegeta" ]; then
  if have go; then
    say "go install vegeta $VEGETA_VERSION"
    timed "go:vegeta@$VEGETA_VERSION" env GOBIN="$CACHE/go/bin" GOFLAGS=-mod=mod \
      go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  else
    say "no Go toolchain: vegeta skipped"
  fi
fi

if ! have locust && [ ! -x "$CACHE/locust-venv/bin/locust" ]; then
  say "pip install locust==$LOCUST_VERSION (virtualenv $CACHE/locust-venv)"
  locust_install() {
    python3 -m venv "$CACHE/locust-venv"
    "$CACHE/locust-venv/bin/pip" install -q "locust==$LOCUST_VERSION"
  }
  timed "pip:locust==$LOCUST_VERSION" locust_install
fi
