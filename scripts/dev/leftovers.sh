#!/usr/bin/env bash
# After scripts/test.sh, scripts/quickstart.sh and scripts/sandbox.sh: lists any process they
# started that still runs (test servers, gateways, proxies) and anything of theirs left in the
# temporary directory. Exit 1 if there is something. CI runs it last.
# Usage: scripts/dev/leftovers.sh [--record FILE | --since FILE]
#   --record FILE  writes what is there now (before the run) and exits 0
#   --since FILE   reports only what was not there when FILE was recorded
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=${TMPDIR:-/tmp}
tmp=${tmp%/}
root=$PWD
list() {
  ps -eo pid=,args= | grep -E "radosgw|ceph-(mon|osd)|redis-server|postgres|chroma|tls-proxy\.py|qdrant-contract-server\.py|lifeboat " \
    | grep -v -E "grep|leftovers\.sh" | while read -r pid args; do
      [[ -n "$pid" ]] || continue
      cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
      case "$args $cwd" in
        *"$tmp/lifeboat-"* | *"$root/"*) echo "process $pid: $args (in $cwd)" ;;
      esac
    done
  find "$tmp" -maxdepth 1 -name 'lifeboat-*' 2>/dev/null | sed 's/^/path /'
}
case "${1:-}" in
  --record) list > "$2"; exit 0 ;;
  --since) baseline=$2 ;;
  *) baseline=/dev/null ;;
esac
found=$(list | grep -v -x -F -f "$baseline" || true)
if [[ -n "$found" ]]; then
  echo "$found" | sed 's/^/leftovers: /' >&2
  exit 1
fi
echo "leftovers: no process and nothing in $tmp left behind" >&2
