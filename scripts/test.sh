#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this). Installs what it needs first.
#
#   scripts/test.sh            everything
#   SKIP_SETUP=1 scripts/test.sh   skip the install step (faster when the machine is ready)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*" >&2; }

if [ -z "${SKIP_SETUP:-}" ]; then
  step "setup"
  scripts/setup.sh
fi

step "rustfmt"
cargo fmt --all -- --check

# The dashboard first: the binary embeds dashboard/dist (crates/api/build.rs), so every cargo
# build below (the tests, the browser tests, the compose stack) carries the real dashboard.
step "dashboard: install, type-check, generated types current, unit tests, build"
(cd dashboard && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test && npm run build)

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "deployment files (Dockerfile, compose.yaml, Helm chart): structure, helm lint and template"
python3 -m pytest -q tests/deploy

step "cargo test (unit, integration, Kafka end-to-end)"
ONSLAUGHT_REQUIRE_DASHBOARD=1 cargo test --workspace --locked

step "compose stack: docker-compose up --scale driver=3, then 5, with images built here"
ONSLAUGHT_BIN=target/debug/onslaught scripts/compose-test.sh

step "dashboard in headless Chromium (playwright-core) against a real orchestrator and drivers"
(cd dashboard && ONSLAUGHT_BIN="$PWD/../target/debug/onslaught" npm run e2e)

step "schemathesis against the OpenAPI document"
scripts/schemathesis.sh target/debug/onslaught

step "benchmark harness (smoke: a few seconds per installed tool)"
bench/run.sh --smoke
