#!/usr/bin/env bash
# Sustained WAL archiving to S3 (a throwaway Ceph RGW on loopback): pgbench (-c 2 -j 2, as fast
# as 2 cores allow: synchronous_commit = off) for BENCH_WAL_SECONDS (60) with max_wal_size = 256MB, once with
# archive_command = `lifeboat wal push` (synchronous, one S3 PUT per segment inside
# archive_command), once with `wal push --async --parallel 4`, and once with `--async --link
# --parallel 4` and wal_recycle = off, which --link requires. Sampled every second: pg_wal's
# segments (the spool, inside pg_wal, counted apart), and the archive lag: the age of the oldest
# segment not yet in the repository (ready for archive_command, or waiting in the spool).
# Targets (issue 19): pg_wal never beyond 2 × max_wal_size; lag p95 <= 5 s.
# Usage: scripts/bench/bench-wal-sustained.sh     (run as root or as a user PostgreSQL accepts)
set -euo pipefail
cd "$(dirname "$0")/../.."
lifeboat="$PWD/.build/release/lifeboat"
work="$PWD/bench-work/wal-sustained"
seconds="${BENCH_WAL_SECONDS:-60}"
bin=/usr/lib/postgresql/15/bin
port=16552
owner=(); [[ $(id -u) -eq 0 ]] && owner=(runuser -u postgres --)
[[ -x $lifeboat ]] || swift build -c release --static-swift-stdlib >&2

scripts/sandbox/pg-sandbox.sh stop "$work/cluster" 2>/dev/null || true
rgwdir="$work/rgw"; rgwport=${BENCH_RGW_PORT:-17780}
scripts/sandbox/rgw-sandbox.sh stop "$rgwdir" >/dev/null 2>&1 || true
rm -rf "$work"; mkdir -p "$work"
scripts/sandbox/rgw-sandbox.sh start "$rgwdir" "$rgwport" 2>/dev/null
cleanup() {
  scripts/sandbox/pg-sandbox.sh stop "$work/cluster" >/dev/null 2>&1 || true
  pkill -f "lifeboat wal pusher --repo s3://walbench" 2>/dev/null || true
  scripts/sandbox/rgw-sandbox.sh stop "$rgwdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cp "$rgwdir/env" "$work/s3.env"; chmod 600 "$work/s3.env"
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work"
conn=(-h 127.0.0.1 -p "$port" -U postgres)
results="$work/results"; : > "$results"

for mode in sync async link; do
  repo="s3://walbench-$(date +%s)-$mode/wal"
  flags=""; recycle=on
  [[ $mode == async ]] && flags="--async --parallel 4"
  [[ $mode == link ]] && flags="--async --link --parallel 4" && recycle=off
  (set -a; source "$work/s3.env"; "${owner[@]}" "$lifeboat" init --repo "$repo" -q)
  scripts/sandbox/pg-sandbox.sh stop "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work/cluster"
  scripts/sandbox/pg-sandbox.sh start "$work/cluster" "$port" "archive_mode = on" "max_wal_size = 256MB" "min_wal_size = 80MB" "synchronous_commit = off" "wal_recycle = $recycle" \
    "archive_command = '. $work/s3.env && exec $lifeboat wal push $flags --repo $repo %p'" >&2
  pgwal="$work/cluster/data/pg_wal"
  "$bin/pgbench" -q -i -s 20 "${conn[@]}" postgres 2>/dev/null
  "$bin/psql" -X -q -At "${conn[@]}" -c "CHECKPOINT" postgres
  start_lsn=$("$bin/psql" -X -At "${conn[@]}" -c "SELECT pg_current_wal_lsn()" postgres)
  "$bin/pgbench" -c 2 -j 2 -T "$seconds" -N "${conn[@]}" postgres > "$work/pgbench-$mode.log" 2>&1 &
  bench=$!
  python3 - "$pgwal" "$work/samples-$mode" "$bench" <<'PY' &
import os, sys, time
pgwal, out, bench = sys.argv[1], sys.argv[2], int(sys.argv[3])
seg = lambda n: len(n) == 24 and all(c in "0123456789ABCDEF" for c in n)
with open(out, "w") as f:
    while os.path.exists(f"/proc/{bench}"):
        now = time.time()
        try:
            wal = sum(os.stat(os.path.join(pgwal, n)).st_size for n in os.listdir(pgwal) if seg(n))
            spool_dir = os.path.join(pgwal, "lifeboat-spool")
            spooled = [os.stat(os.path.join(spool_dir, n)) for n in (os.listdir(spool_dir) if os.path.isdir(spool_dir) else []) if seg(n)]
            ready = [n[:-6] for n in os.listdir(os.path.join(pgwal, "archive_status")) if n.endswith(".ready")]
            ages = [now - os.stat(os.path.join(pgwal, n)).st_mtime for n in ready if os.path.exists(os.path.join(pgwal, n))]
            ages += [now - s.st_mtime for s in spooled]
            f.write(f"{now:.1f} {wal} {sum(s.st_size for s in spooled)} {max(ages) if ages else 0:.2f}\n")
        except FileNotFoundError:
            pass
        f.flush()
        time.sleep(1)
PY
  sampler=$!
  wait "$bench"; wait "$sampler"
  generated=$("$bin/psql" -X -At "${conn[@]}" -c "SELECT pg_current_wal_lsn() - '$start_lsn'::pg_lsn" postgres)
  last=$("$bin/psql" -X -At "${conn[@]}" -c "SELECT pg_walfile_name(pg_switch_wal())" postgres)
  began=$(date +%s.%N)
  for _ in $(seq 1 1200); do
    [[ "$("$bin/psql" -X -At "${conn[@]}" -c "SELECT coalesce(last_archived_wal, '') >= '$last' FROM pg_stat_archiver" postgres)" == t ]] \
      && { [[ $mode == sync ]] || [[ -z "$(ls "$pgwal/lifeboat-spool" 2>/dev/null | grep -E '^[0-9A-F]{24}$')" ]]; } && break
    sleep 0.5
  done
  drained=$(python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$began")
  if [[ -e "$pgwal/lifeboat-spool/link-unsafe" ]]; then echo "bench: --link was found unsafe: $(cat "$pgwal/lifeboat-spool/link-unsafe")" >&2; exit 1; fi
  failed=$("$bin/psql" -X -At "${conn[@]}" -c "SELECT failed_count FROM pg_stat_archiver" postgres)
  tps=$(grep -oE 'tps = [0-9.]+' "$work/pgbench-$mode.log" | head -1 | cut -d' ' -f3)
  echo "$mode $generated $drained $failed $tps" >> "$results"
done

python3 - "$work" "$seconds" <<'PY'
import sys, statistics
work, seconds = sys.argv[1], int(sys.argv[2])
print(f"sustained WAL archiving to Ceph RGW: pgbench -c 2 -j 2 -N for {seconds} s, max_wal_size 256 MB (target pg_wal <= 512 MiB, lag p95 <= 5 s)")
print(f"{'mode':<7}{'WAL MiB':>9}{'WAL MiB/s':>11}{'tps':>8}{'pg_wal max MiB':>16}{'spool max MiB':>15}{'lag p50 s':>11}{'lag p95 s':>11}{'lag max s':>11}{'drain s':>9}{'failed':>8}")
for line in open(f"{work}/results"):
    mode, generated, drained, failed, tps = line.split()
    rows = [l.split() for l in open(f"{work}/samples-{mode}")]
    wal = [int(r[1]) for r in rows]; spool = [int(r[2]) for r in rows]; lag = sorted(float(r[3]) for r in rows)
    p = lambda q: lag[min(len(lag) - 1, int(q * len(lag)))]
    g = int(generated) / 2**20
    print(f"{mode:<7}{g:>9.0f}{g/seconds:>11.1f}{float(tps):>8.0f}{max(wal)/2**20:>16.0f}{max(spool)/2**20:>15.0f}{p(0.5):>11.2f}{p(0.95):>11.2f}{lag[-1]:>11.2f}{float(drained):>9.1f}{failed:>8}")
PY
