#!/usr/bin/env bash
# Runs the browser tests (tests/browser) against the built binary, once.
# A failing test fails the run: a flaky test is a bug to find and fix.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser"
export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:?build first: make build}"
exec node --test --test-concurrency=1
