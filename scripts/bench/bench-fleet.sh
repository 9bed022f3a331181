#!/usr/bin/env bash
# One repository for a fleet (#15):
#   1. four hosts backing up into one repository at once, against one host alone (wall time,
#      medians of RUNS, default 3): first backups into fresh repositories, then re-backups after
#      a small edit. Each host's tree is the benchmark data set (BENCH_MB, hard links, so 80% or
#      more is shared) plus BENCH_MB/4 MiB of its own random data.
#   2. prune of a repository with SNAPSHOTS (default 200) snapshots and about CHUNKS (default
#      100,000) chunks, after forgetting half of them: time and peak RSS.
# Usage: [BENCH_MB=512] [RUNS=3] [SNAPSHOTS=200] [CHUNKS=100000] scripts/bench/bench-fleet.sh
set -euo pipefail
export BENCH_MB="${BENCH_MB:-512}"
source "$(dirname "$0")/bench-common.sh"
runs="${RUNS:-3}"; snapshots="${SNAPSHOTS:-200}"; chunks="${CHUNKS:-100000}"
results="$work/fleet-results"; : > "$results"

# 1. Four hosts at once.
for h in 0 1 2 3; do
  tree="$work/fleet-host$h"
  if [[ ! -f "$tree/.complete" ]]; then
    rm -rf "$tree"; cp -al "$data" "$tree"; rm -f "$tree"/.complete-*
    head -c $((BENCH_MB / 4 * 1048576)) /dev/urandom > "$tree/own-$h.bin"
    touch "$tree/.complete"
  fi
done
policy() { printf 'repository: %s\nsources:\n  app: {type: files, path: %s}\n' "$1" "$2" > "$3"; }
timed() {  # NAME CMD…: appends "NAME seconds"
  local name=$1; shift
  local start end; start=$(date +%s.%N); "$@"; end=$(date +%s.%N)
  echo "$name $(echo "$end - $start" | bc)" >> "$results"
}
four() {
  local pids=() h
  for h in 0 1 2 3; do "$lifeboat" backup --policy "$work/fleet-p$h.yaml" --host "host$h" -q >/dev/null & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
for run in $(seq "$runs"); do
  rm -rf "$work/fleet-one" "$work/fleet-four"
  "$lifeboat" init --repo "$work/fleet-one" -q; "$lifeboat" init --repo "$work/fleet-four" -q
  policy "$work/fleet-one" "$work/fleet-host0" "$work/fleet-one.yaml"
  for h in 0 1 2 3; do policy "$work/fleet-four" "$work/fleet-host$h" "$work/fleet-p$h.yaml"; done
  sync
  timed first-one "$lifeboat" backup --policy "$work/fleet-one.yaml" --host host0 -q
  sync
  timed first-four four
  for h in 0 1 2 3; do head -c 1048576 /dev/urandom >> "$work/fleet-host$h/own-$h.bin"; done
  sync
  timed again-one "$lifeboat" backup --policy "$work/fleet-one.yaml" --host host0 -q
  timed again-four four
done
sizes=$(du -sb "$work/fleet-one/packs" "$work/fleet-four/packs" | cut -f1 | tr '\n' ' ')
"$lifeboat" prune --repo "$work/fleet-four" -q
after=$(du -sb "$work/fleet-four/packs" | cut -f1)

# 2. Prune of many snapshots and chunks: a tree of 20,000 small files, CHUNKS/SNAPSHOTS of them
# rewritten before each backup (a small file is a chunk of its own).
tree="$work/fleet-prune-tree"
rm -rf "$tree" "$work/fleet-prune"
python3 scripts/bench/config-tree.py "$tree" 120
"$lifeboat" init --repo "$work/fleet-prune" -q
printf 'repository: %s\nsources:\n  cfg: {type: files, path: %s}\nschedules:\n  hourly: {cron: "0 * * * *", retention: {keep-last: %d}}\n' \
  "$work/fleet-prune" "$tree" $((snapshots / 2)) > "$work/fleet-prune.yaml"
per=$(( (chunks - 20000) / snapshots ))
for n in $(seq "$snapshots"); do
  python3 - "$tree" "$n" "$per" <<'PY'
import os, random, sys
root, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(n)
for k in rnd.sample(range(20000), per):
    with open(f"{root}/d{k // 500:03}/f{k % 500:03}.conf", "w") as f: f.write(f"edit {n} {rnd.random()}\n" * 120)
PY
  "$lifeboat" backup --policy "$work/fleet-prune.yaml" --schedule hourly -q >/dev/null
done
indexed=$(python3 - "$work/fleet-prune/index" <<'PY'
import os, struct, sys
total = 0
for name in os.listdir(sys.argv[1]):
    b = open(os.path.join(sys.argv[1], name), "rb").read()
    packs = struct.unpack_from("<I", b, 4)[0]
    total += struct.unpack_from("<I", b, 8 + packs * 40)[0]
print(total)
PY
)
"$lifeboat" forget --policy "$work/fleet-prune.yaml" -q
/usr/bin/time -f "%e %M" -o "$work/time.fleet-prune" "$lifeboat" prune --repo "$work/fleet-prune" --json > "$work/fleet-prune.json"
"$lifeboat" verify --repo "$work/fleet-prune" -q

python3 - "$results" "$sizes" "$after" "$indexed" "$snapshots" "$work/time.fleet-prune" "$work/fleet-prune.json" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    name, s = line.split(); rows.setdefault(name, []).append(float(s))
med = lambda xs: sorted(xs)[len(xs) // 2]
one, four = (int(x) for x in sys.argv[2].split())
after = int(sys.argv[3])
for kind in ("first", "again"):
    a, b = med(rows[f"{kind}-one"]), med(rows[f"{kind}-four"])
    print(f"{kind + ' backups':<16} one host {a:6.2f} s, four at once {b:6.2f} s: ratio {b / a:.2f} (target <= 1.5; runs {rows[kind + '-four']})")
print(f"packs: one host {one / 2**20:.0f} MiB, four hosts {four / 2**20:.0f} MiB ({four / one:.2f}x), after prune {after / 2**20:.0f} MiB ({after / one:.2f}x)")
seconds, kb = open(sys.argv[6]).read().split()
report = json.load(open(sys.argv[7]))
print(f"prune of {sys.argv[5]} snapshots ({int(sys.argv[5]) // 2} forgotten), {sys.argv[4]} chunks indexed: {float(seconds):.2f} s, "
      f"peak RSS {int(kb) / 1024:.0f} MiB; removed {len(report['removed'])}, repacked {len(report['repacked'])} packs, freed {report['bytes'] / 2**20:.1f} MiB")
PY
