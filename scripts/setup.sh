#!/usr/bin/env bash
# Installs what onslaught's build and test suite need on a fresh Debian machine, skipping what is
# already there: build tools, Java 17 + Maven (for the test Kafka broker), Node.js + npm (the
# dashboard), Debian's Chromium (browser tests), kcat (inspecting topics), nginx and openssl (the
# engine's tests against a real nginx, plain and TLS, with a certificate made by the test), the Docker engine,
# docker-compose and debootstrap (the compose stack test), Go (to build helm). Then fetches the
# Kafka broker's jars into the cache and builds the pinned helm. Safe to run repeatedly.
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
have nginx || need+=(nginx-light)
have openssl || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
have ip || need+=(iproute2)
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
have docker-compose || need+=(docker-compose)
have debootstrap || need+=(debootstrap)
have curl || need+=(curl)
have go || [ -x /usr/local/go/bin/go ] || need+=(golang-go)

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

# helm, pinned, from the Go module proxy (tests/deploy/test_helm.py looks for it here). It needs
# Go >= GO_FOR_HELM; an older go (Debian bookworm's is 1.19) fetches that Go toolchain as a module
# from the same proxy (what `GOTOOLCHAIN` does in Go >= 1.21).
HELM_VERSION=v3.21.4
GO_FOR_HELM=1.26.0
HELM_DIR="$HOME/.cache/onslaught/helm-$HELM_VERSION"
if [ ! -x "$HELM_DIR/helm" ]; then
  GO=go
  have go || GO=/usr/local/go/bin/go
  version=$("$GO" env GOVERSION)
  version=${version#go}
  if [ "$(printf '%s\n' "$GO_FOR_HELM" "$version" | sort -V | head -n 1)" != "$GO_FOR_HELM" ]; then
    echo "setup: go $version is older than $GO_FOR_HELM: fetching that toolchain from the module proxy" >&2
    toolchain="golang.org/toolchain@v0.0.1-go$GO_FOR_HELM.linux-$(dpkg --print-architecture)"
    dir=$(cd /tmp && GOFLAGS=-modcacherw "$GO" mod download -json "$toolchain" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
    # Module zips keep no file modes.
    chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
    GO="$dir/bin/go"
  fi
  echo "setup: building helm $HELM_VERSION with $("$GO" version)" >&2
  mkdir -p "$HELM_DIR"
  # The version is stamped as helm's Makefile does (`go install` alone reports only v3.x).
  GOTOOLCHAIN=local GOBIN="$HELM_DIR" "$GO" install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
