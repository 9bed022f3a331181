#!/usr/bin/env bash
# Makes (once) the Python venv with chromadb that the Chroma sandbox runs from, and jsonschema,
# which the tests validate drill reports with (docs/drill-report.schema.json), and prints its
# path. CHROMA_VENV overrides the location (default: .venv-chroma at the repository root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${CHROMA_VENV:-$root/.venv-chroma}
version=${CHROMADB_VERSION:-1.5.9}
if [[ ! -x "$venv/bin/chroma" ]] || ! "$venv/bin/python" -c "import chromadb, jsonschema, sys; sys.exit(chromadb.__version__ != '$version')" 2>/dev/null; then
  echo "chroma-venv: installing chromadb==$version into $venv (PyPI)" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "chromadb==$version" "jsonschema>=4.18" >&2
fi
echo "$venv"
