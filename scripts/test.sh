#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test (unit and integration).
# Integration tests drive the real `lifeboat` binary against real files, repositories and
# processes (kill -9, lock contention); nothing is mocked and nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh test
scripts/sandbox/chroma-venv.sh >/dev/null   # chromadb from PyPI for the Chroma tests (once)
swift build --build-tests
export LIFEBOAT_BIN="$PWD/.build/debug/lifeboat"
swift test --disable-xctest "$@"
