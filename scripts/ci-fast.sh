#!/usr/bin/env bash
# CI's fast first pass, before the integration run (under 5 minutes from a clean clone on 2
# cores): lint, a build of everything that must print no warning, the unit tests (in process,
# no servers), and the generated command reference against the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
started=$(date +%s)
scripts/setup.sh build
scripts/lint.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log" >&2
if grep -E "(warning|error):" "$log" | grep -v "^warning: 'lifeboat': found .* file(s) which are unhandled" >/dev/null; then
  echo "ci-fast: the build printed warnings (above); fix them" >&2
  grep -E "(warning|error):" "$log" | sort -u >&2
  exit 1
fi
LIFEBOAT_BIN="$PWD/.build/debug/lifeboat" swift test --skip-build --disable-xctest --filter LifeboatCoreTests
if ! diff -u docs/cli.md <(.build/debug/lifeboat debug cli-reference) >&2; then
  echo "ci-fast: docs/cli.md is stale; run scripts/dev/gen-cli-docs.sh" >&2
  exit 1
fi
echo "ci-fast: ok in $(( $(date +%s) - started )) s" >&2
