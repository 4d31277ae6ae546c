#!/usr/bin/env bash
# Runs the test suite (debug build). Extra arguments go to `swift test`, e.g. --filter MediaIOTests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
exec swift test --skip-build "$@"
