#!/usr/bin/env bash
# Installs the Debian packages one entry point needs, when missing, and checks for Swift.
# Usage: scripts/setup.sh [build|quickstart|test|bench]   (default: test; --bench = bench)
#   build       the C libraries lifeboat links (libarchive, zlib, OpenSSL, libpq, zstd)
#   quickstart  build + the servers of the quick start and sandbox (PostgreSQL 15, Redis, Python
#               for Chroma) and the tools their scripts use; no Ceph
#   test        quickstart + Ceph (mon, osd, radosgw: the S3 tests' gateway), strace, promtool
#               (package prometheus: the alert rules' tests), chromium (the HTML report's
#               screenshot test)
#   bench       test + the peers: restic, pgbackrest, GNU time
# apt-get shows its progress on a terminal; without one (CI) it prints a line per step.
set -euo pipefail

entry="${1:-test}"
[[ "$entry" == "--bench" ]] && entry=bench
build=(libarchive-dev zlib1g-dev libssl-dev libpq-dev libzstd-dev pkg-config)
quickstart=("${build[@]}" zstd redis-server redis-tools python3 python3-venv postgresql-15 postgresql-client-15 curl)
test=("${quickstart[@]}" strace ceph-mon ceph-osd radosgw ceph-common prometheus chromium)
bench=("${test[@]}" restic pgbackrest time)
case "$entry" in
  build) packages=("${build[@]}") ;;
  quickstart) packages=("${quickstart[@]}") ;;
  test) packages=("${test[@]}") ;;
  bench) packages=("${bench[@]}") ;;
  *) echo "setup: unknown entry point \"$entry\" (build, quickstart, test or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  quiet=(); [[ -t 2 ]] || quiet=(-q)
  $sudo apt-get update "${quiet[@]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${quiet[@]}" --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v swift >/dev/null 2>&1; then
  if [[ -x /opt/swift/usr/bin/swift ]]; then
    echo "setup: swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "setup: a Swift 6 toolchain is required (https://www.swift.org/install/linux/); none found" >&2
  fi
  exit 1
fi
