#!/usr/bin/env bash
# Installs what Lifeboat builds and tests with (Debian packages), if missing.
# Usage: scripts/setup.sh [--bench]   (--bench also installs the peers: restic, pgbackrest, GNU time)
set -euo pipefail

packages=(libarchive-dev zlib1g-dev libssl-dev libpq-dev libzstd-dev pkg-config zstd redis-server redis-tools python3
          postgresql-15 postgresql-client-15 strace curl python3-venv
          ceph-mon ceph-osd radosgw ceph-common)
if [[ "${1:-}" == "--bench" ]]; then packages+=(restic pgbackrest time); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [[ -x /opt/swift/usr/bin/swift ]]; then
    echo "setup: swift is at /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "setup: a Swift 6 toolchain is required (https://www.swift.org/install/linux/); none found" >&2
    exit 1
  fi
fi
