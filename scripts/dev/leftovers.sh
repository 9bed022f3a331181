#!/usr/bin/env bash
# After scripts/test.sh, scripts/quickstart.sh and scripts/sandbox.sh: lists any process they
# started that still runs (test servers, gateways, proxies) and anything of theirs left in the
# temporary directory. Exit 1 if there is something. CI runs it last.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=${TMPDIR:-/tmp}
tmp=${tmp%/}
root=$PWD
found=0
while read -r pid args; do
  [[ -n "$pid" ]] || continue
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  case "$args $cwd" in
    *"$tmp/lifeboat-"* | *"$root/"*)
      echo "leftovers: process $pid still runs: $args (in $cwd)" >&2
      found=1 ;;
  esac
done < <(ps -eo pid=,args= | grep -E "radosgw|ceph-(mon|osd)|redis-server|postgres|chroma|tls-proxy\.py|qdrant-contract-server\.py|lifeboat " | grep -v -E "grep|leftovers\.sh")
while IFS= read -r path; do
  [[ -n "$path" ]] || continue
  echo "leftovers: left in $tmp: $path" >&2
  found=1
done < <(find "$tmp" -maxdepth 1 -name 'lifeboat-*' 2>/dev/null)
if ((found)); then exit 1; fi
echo "leftovers: no process and nothing in $tmp left behind" >&2
