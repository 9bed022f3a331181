#!/usr/bin/env bash
# Memory and listing at scale (#14), on disk, format 2:
#   1. peak RSS of a backup of the benchmark tree (BENCH_MB, default 512) into a repository whose
#      index already names 1,000,000 chunks (synthetic index files, scripts/bench/synthetic-index.py),
#      and of the same backup into an empty repository;
#   2. peak RSS of a first backup and of re-backups of SMALL_FILES (default 200,000) files of
#      10 KiB (about 2 GB), and of restic's first backup of the same tree;
#   3. `lifeboat snapshots` on SNAPSHOTS (default 200) snapshots of a 20,000-file tree.
# Each measurement runs RUNS times (default 3); medians are printed.
# Usage: scripts/bench/bench-memory.sh
set -euo pipefail
export BENCH_MB="${BENCH_MB:-512}"
source "$(dirname "$0")/bench-common.sh"
runs="${RUNS:-3}"; small_files="${SMALL_FILES:-200000}"; snapshots="${SNAPSHOTS:-200}"
results="$work/memory-results"; : > "$results"
policy() { printf 'repository: %s\nsources:\n  data: {type: files, path: %s}\n' "$1" "$2" > "$3"; }

# 1. A large index.
for run in $(seq "$runs"); do
  rm -rf "$work/mem-index" "$work/mem-empty"
  "$lifeboat" init --repo "$work/mem-index" -q; "$lifeboat" init --repo "$work/mem-empty" -q
  python3 scripts/bench/synthetic-index.py "$work/mem-index" 1000000 >/dev/null
  policy "$work/mem-index" "$data" "$work/mem-index.yaml"; policy "$work/mem-empty" "$data" "$work/mem-empty.yaml"
  measure index-1M "$lifeboat" backup --policy "$work/mem-index.yaml" -q
  measure index-empty "$lifeboat" backup --policy "$work/mem-empty.yaml" -q
done

# 2. Many small files.
small="$work/small-$small_files"
if [[ ! -f "$small/.complete" ]]; then
  rm -rf "$small"
  python3 - "$small" "$small_files" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5); blob = os.urandom(1 << 20)
for n in range(count):
    d = f"{root}/d{n // 1000:04}"
    if n % 1000 == 0: os.makedirs(d, exist_ok=True)
    off = rnd.randrange(len(blob) - 10240)
    with open(f"{d}/f{n % 1000:04}.bin", "wb") as f: f.write(blob[off:off + 10240])
open(f"{root}/.complete", "w").close()
PY
fi
printf 'bench-password-not-secret\n' > "$work/restic-pass"; chmod 600 "$work/restic-pass"
export RESTIC_PASSWORD_FILE="$work/restic-pass"
for run in $(seq "$runs"); do
  rm -rf "$work/mem-small" "$work/mem-small-restic"
  "$lifeboat" init --repo "$work/mem-small" -q; policy "$work/mem-small" "$small" "$work/mem-small.yaml"
  measure small-first "$lifeboat" backup --policy "$work/mem-small.yaml" -q
  measure small-again "$lifeboat" backup --policy "$work/mem-small.yaml" -q
  if [[ "$run" == 1 ]]; then
    restic init --repo "$work/mem-small-restic" -q >/dev/null
    measure small-restic-first restic backup --repo "$work/mem-small-restic" -q "$small"
  fi
done

# 3. Listing many snapshots.
tree="$work/list-tree"
if [[ ! -f "$tree/.complete" ]]; then
  rm -rf "$tree"
  python3 scripts/bench/config-tree.py "$tree" 8 && touch "$tree/.complete"
fi
rm -rf "$work/mem-list"; "$lifeboat" init --repo "$work/mem-list" -q; policy "$work/mem-list" "$tree" "$work/mem-list.yaml"
for n in $(seq "$snapshots"); do
  echo "edit $n" > "$tree/d000/f000.conf"
  "$lifeboat" backup --policy "$work/mem-list.yaml" -q >/dev/null
done
for run in $(seq "$runs"); do measure "snapshots-$snapshots" "$lifeboat" snapshots --repo "$work/mem-list"; done
du -sb "$work/mem-list/snapshots" | awk '{printf "manifests of %d snapshots: %.1f KiB\n", '"$snapshots"', $1 / 1024}'

python3 - "$results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, s, kb = line.split(); rows.setdefault(name, []).append((float(s), int(kb)))
med = lambda xs: sorted(xs)[len(xs) // 2]
for name, values in rows.items():
    print(f"{name:<22} median {med([v[0] for v in values]):7.2f} s  peak RSS {med([v[1] for v in values]) / 1024:7.1f} MiB"
          f"  (runs: {', '.join(f'{v[1] / 1024:.0f}' for v in values)} MiB)")
PY
