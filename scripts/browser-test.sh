#!/usr/bin/env bash
# Runs the browser tests (tests/browser) against the built binary, once:
# all of them, or the files named as arguments. A failing test fails the
# run: a flaky test is a bug to find and fix. Screenshots go to
# tests/browser/out/ unless SWITCHBOARD_SCREENSHOTS=docs (make screenshots).
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"
export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:?build first: make build}"
exec node --test --test-concurrency=1 "$@"
