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

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "dashboard: install, type-check, unit tests, build"
(cd dashboard && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test && npm run build)

step "deployment files (Dockerfile, compose.yaml): structure"
python3 -m pytest -q tests/deploy

step "cargo test (unit, integration, Kafka end-to-end)"
cargo test --workspace --locked

step "dashboard in headless Chromium (playwright-core) against a real orchestrator and drivers"
(cd dashboard && ONSLAUGHT_BIN="$PWD/../target/debug/onslaught" npm run e2e)

step "schemathesis against the OpenAPI document"
scripts/schemathesis.sh target/debug/onslaught

step "benchmark harness (smoke: a few seconds per installed tool)"
bench/run.sh --smoke
