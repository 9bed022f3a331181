#!/usr/bin/env bash
# The FastCDC chunker's throughput on one core: 1 GiB of random data (incompressible, so cut
# points fall where the gear hash says), chunked in memory five times; prints each run and the
# median. Target (#14): >= 1 GB/s on this machine.
# Usage: scripts/bench/bench-chunker.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --static-swift-stdlib >/dev/null
lifeboat="$PWD/.build/release/lifeboat"
work="$PWD/bench-work"; mkdir -p "$work"
[ -f "$work/random-1g" ] || head -c $((1 << 30)) /dev/urandom > "$work/random-1g"
for i in 1 2 3 4 5; do "$lifeboat" debug chunk "$work/random-1g" --json; done | python3 -c '
import sys, json, statistics
runs = [json.loads(l) for l in sys.stdin]
for r in runs: print("chunks %d, average %.0f KiB, %.0f MB/s" % (r["chunks"], r["average"] / 1024, r["bytes_per_second"] / 1e6))
print("median %.0f MB/s (target >= 1000)" % (statistics.median(r["bytes_per_second"] for r in runs) / 1e6))'
