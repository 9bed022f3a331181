#!/usr/bin/env bash
# Repository growth over six backups (#14): the benchmark tree (BENCH_MB, default 512), with about
# 2% of its files edited between backups (an in-place overwrite plus an append), backed up into
# a format-1 and a format-2 Lifeboat repository and a restic repository. Prints each repository's
# size after every backup, the re-backup times, and the format-2 / restic ratios. Then FIRST_RUNS
# (default 3) first backups of the final tree into fresh repositories, alternating format 1,
# format 2 and restic, for medians of the first-backup ratios.
# Usage: [BENCH_MB=512] [FIRST_RUNS=3] scripts/bench/bench-dedup.sh
set -euo pipefail
export BENCH_MB="${BENCH_MB:-512}"
source "$(dirname "$0")/bench-common.sh"
tree="$work/dedup-tree"; results="$work/dedup-results"
rm -rf "$tree" "$work/dedup-"{f1,f2,restic}; : > "$results"
cp -a "$data" "$tree"; rm -f "$tree"/.complete-*
printf 'bench-password-not-secret\n' > "$work/restic-pass"; chmod 600 "$work/restic-pass"
export RESTIC_PASSWORD_FILE="$work/restic-pass"
for f in f1 f2; do
  printf 'repository: %s\nsources:\n  data: {type: files, path: %s}\n' "$work/dedup-$f" "$tree" > "$work/dedup-$f.yaml"
done
"$lifeboat" init --repo "$work/dedup-f1" --format 1 -q
"$lifeboat" init --repo "$work/dedup-f2" --format 2 -q
restic init --repo "$work/dedup-restic" -q >/dev/null
for round in 1 2 3 4 5 6; do
  if [ "$round" -gt 1 ]; then
    python3 - "$tree" "$round" <<'PY'
import os, random, sys
root, round_ = sys.argv[1], int(sys.argv[2])
files = sorted(os.path.join(d, n) for d, _, ns in os.walk(root) for n in ns)
rnd = random.Random(round_)
for path in rnd.sample(files, max(1, len(files) // 50)):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(rnd.randrange(max(1, size))); f.write(os.urandom(4096))   # an in-place edit
    with open(path, "ab") as f: f.write(os.urandom(8192))                 # and an append
PY
  fi
  for who in f1 f2 restic; do
    start=$(date +%s.%N)
    if [ "$who" = restic ]; then restic backup --repo "$work/dedup-restic" -q "$tree" >/dev/null
    else "$lifeboat" backup --policy "$work/dedup-$who.yaml" -q >/dev/null; fi
    end=$(date +%s.%N)
    echo "$round $who $(echo "$end - $start" | bc) $(du -sb "$work/dedup-$who" | cut -f1)" >> "$results"
  done
done
first="$work/dedup-first"; : > "$first"
sync; sleep 2   # let the copied tree's writeback settle before timing first backups
for run in $(seq "${FIRST_RUNS:-3}"); do
  for who in f1 f2 restic; do
    rm -rf "$work/dedup-first-$who"
    if [ "$who" = restic ]; then restic init --repo "$work/dedup-first-$who" -q >/dev/null
    else "$lifeboat" init --repo "$work/dedup-first-$who" --format "${who#f}" -q
      printf 'repository: %s\nsources:\n  data: {type: files, path: %s}\n' "$work/dedup-first-$who" "$tree" > "$work/dedup-first-$who.yaml"; fi
    sync
    start=$(date +%s.%N)
    if [ "$who" = restic ]; then restic backup --repo "$work/dedup-first-$who" -q "$tree" >/dev/null
    else "$lifeboat" backup --policy "$work/dedup-first-$who.yaml" -q >/dev/null; fi
    end=$(date +%s.%N)
    echo "$who $(echo "$end - $start" | bc)" >> "$first"
  done
done
rm -rf "$work"/dedup-first-{f1,f2,restic}
python3 - "$results" "$first" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
firsts = {}
for l in open(sys.argv[2]):
    who, s = l.split(); firsts.setdefault(who, []).append(float(s))
by = {}
for r, who, s, size in rows: by.setdefault(int(r), {})[who] = (float(s), int(size))
print(f"{'backup':<8}{'f1 MiB':>9}{'f2 MiB':>9}{'restic MiB':>12}{'f1 s':>8}{'f2 s':>8}{'restic s':>10}")
for r in sorted(by):
    b = by[r]
    print(f"{r:<8}{b['f1'][1]/2**20:>9.0f}{b['f2'][1]/2**20:>9.0f}{b['restic'][1]/2**20:>12.0f}{b['f1'][0]:>8.2f}{b['f2'][0]:>8.2f}{b['restic'][0]:>10.2f}")
last = by[max(by)]
re = [by[r] for r in by if r > 1]
med = lambda xs: sorted(xs)[len(xs) // 2]
print(f"after 6 backups: format 2 / restic size {last['f2'][1]/last['restic'][1]:.2f} (target <= 1.10), format 1 / restic {last['f1'][1]/last['restic'][1]:.2f}")
print(f"re-backup time, median of 5: format 2 {med([b['f2'][0] for b in re]):.2f} s, restic {med([b['restic'][0] for b in re]):.2f} s, ratio {med([b['f2'][0] for b in re])/med([b['restic'][0] for b in re]):.2f} (target <= 0.8)")
f1, f2, rs = (med(firsts[w]) for w in ("f1", "f2", "restic"))
print(f"first backup, median of {len(firsts['f2'])}: format 2 {f2:.2f} s, format 1 {f1:.2f} s, restic {rs:.2f} s; "
      f"format 2 / format 1 {f2/f1:.2f} (target <= 1.15), format 2 / restic {f2/rs:.2f} (target <= 0.5)")
PY
