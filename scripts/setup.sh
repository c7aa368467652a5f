#!/usr/bin/env bash
# Installs what onslaught's build and test suite need on a fresh Debian machine, skipping what is
# already there: build tools, Java 17 + Maven (for the test Kafka broker), Node.js + npm (the
# dashboard), Debian's Chromium (browser tests) and kcat (inspecting topics). Then fetches the
# Kafka broker's jars into the cache. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have cc || need+=(build-essential)
have make || need+=(make)
have cmake || need+=(cmake)
have pkg-config || need+=(pkg-config)
have java || need+=(openjdk-17-jre-headless)
have mvn || need+=(maven)
have node || need+=(nodejs)
have npm || need+=(npm)
have kcat || need+=(kcat)
[ -x /usr/bin/chromium ] || need+=(chromium)
have ip || need+=(iproute2)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! have cargo; then
  echo "setup: Rust is missing; install it with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

python3 -c 'import yaml, pytest' 2>/dev/null || python3 -m pip install -q pyyaml pytest
[ "$(schemathesis --version 2>/dev/null)" = "schemathesis, version 4.32.5" ] \
  || python3 -m pip install -q schemathesis==4.32.5

scripts/kafka-broker.sh fetch >&2
