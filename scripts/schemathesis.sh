#!/usr/bin/env bash
# Property-based API testing: schemathesis (from PyPI) fuzzes every route of the orchestrator's
# OpenAPI document against a real orchestrator (`onslaught serve` with NO drivers, so no test can
# start and no load is sent anywhere; starting answers 409). It checks that every response
# matches the document, that invalid input is refused with 4xx and valid input accepted, that
# the bearer token is enforced, and that nothing crashes. The event stream is excluded (it never
# ends). Generation is deterministic so a CI failure reproduces.
#
#   scripts/schemathesis.sh [path/to/onslaught]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/onslaught}
work=$(mktemp -d)
token="schemathesis-$$"
"$bin" serve --drivers 0 --listen 127.0.0.1:0 --report-dir "$work/reports" --api-token "$token" \
  >"$work/serve.out" 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  url=$(sed -n 's/^dashboard: \(http[^ ]*\)$/\1/p' "$work/serve.out")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "onslaught serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
schemathesis run "${url}api/openapi.json" \
  --checks all --max-examples 60 --request-timeout 5 --generation-deterministic \
  --exclude-path /api/events -H "Authorization: Bearer $token"
