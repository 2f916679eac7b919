#!/usr/bin/env bash
# The whole test suite: set up whatever is missing, build, then run the unit
# tests (no root needed) and the integration tests (root) with tap, one file
# at a time: the leak checks compare host-wide state (mounts, cgroups).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-example
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx tap --disable-coverage --reporter=tap dist/test/unit/*.test.js dist/test/integration/*.test.js 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
echo "${pass:-0} passed, ${fail:-0} failed"
exit "$rc"
