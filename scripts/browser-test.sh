#!/usr/bin/env bash
# Runs the browser tests (tests/browser) against the built binary. A file
# that fails is run once more on its own, and said loudly: real browsers
# and timers make rare flakes, which must be seen and fixed, not hidden,
# but one must not throw away a whole run.
set -uo pipefail
cd "$(dirname "$0")/../tests/browser"
export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:?build first: make build}"
log=$(mktemp)
node --test --test-concurrency=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] && exit 0
failed=$(grep -oE "location: '[^']+\.test\.js" "$log" | sed "s/location: '//; s#.*/##" | sort -u)
[ -n "$failed" ] || exit "$status"
echo "browser-test: FLAKY? these files failed, running them once more: $failed" >&2
node --test --test-concurrency=1 $failed
