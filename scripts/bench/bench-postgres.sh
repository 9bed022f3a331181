#!/usr/bin/env bash
# PostgreSQL side by side (restores: median of three rounds), the same pgbench database (BENCH_PG_SCALE=50 by default,
# about 750 MB), warm cache: logical backups (lifeboat zstd:1 vs `pg_dump -Fc` and
# `pg_dump -Fc -Z0 | zstd -1`; with jobs: 2 vs `pg_dump -Fd -j 2 -Z0` then `zstd -1` per file), physical backups (lifeboat zstd:1 vs pgBackRest full, zst at its default level,
# process-max=2; the server archives with each tool's own command during its backup) and
# physical restores into a new data directory (both fsync), WAL push per segment (lifeboat wal
# push vs pgBackRest archive-push, 18 segments, synchronous and async, copied or --link), and delta restores after 1% of the
# relation files changed (lifeboat --delta vs pgBackRest restore --delta), and the replay of 220
# archived segments with and without restore_command's prefetch. Prints times,
# peak RSS and lifeboat's ratios against each peer. Called by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
lifeboat="$PWD/.build/release/lifeboat"
work="$PWD/bench-work/pg"
scale="${BENCH_PG_SCALE:-50}"
bin=/usr/lib/postgresql/15/bin
port=16532
owner=(); [[ $(id -u) -eq 0 ]] && owner=(runuser -u postgres --)

scripts/sandbox/pg-sandbox.sh stop "$work/cluster" 2>/dev/null || true
rm -rf "$work"; mkdir -p "$work"
[[ $(id -u) -eq 0 ]] && chown postgres: "$work"
"${owner[@]}" "$lifeboat" init --repo "$work/lb-repo" -q
cat > "$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr-repo
compress-type=zst
process-max=2
start-fast=y
log-level-console=warn
log-level-file=off
lock-path=$work/pgbr-lock
[bench]
pg1-path=$work/cluster/data
pg1-port=$port
pg1-socket-path=$work/cluster
CONF
pgbr=("${owner[@]}" pgbackrest --config="$work/pgbackrest.conf" --stanza=bench)
scripts/sandbox/pg-sandbox.sh start "$work/cluster" "$port" "archive_mode = on" \
  "archive_command = '$lifeboat wal push --repo $work/lb-repo %p && pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p'"
trap 'scripts/sandbox/pg-sandbox.sh stop "$work/cluster"' EXIT
echo "bench: pgbench -i -s $scale" >&2
"$bin/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$port" -U postgres postgres 2>/dev/null
"$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -c "CHECKPOINT" postgres
db_bytes=$("$bin/psql" -X -At -h 127.0.0.1 -p "$port" -U postgres -c "SELECT pg_database_size('postgres')" postgres)
"${pgbr[@]}" stanza-create >/dev/null
cat > "$work/logical.yaml" <<YAML
repository: $work/lb-repo
compression: zstd:1
sources:
  db: {type: postgres, host: 127.0.0.1, port: $port, user: postgres, database: postgres, mode: logical}
YAML
cat > "$work/physical.yaml" <<YAML
repository: $work/lb-repo
compression: zstd:1
sources:
  phys: {type: postgres, host: 127.0.0.1, port: $port, user: postgres, mode: physical}
YAML
results="$work/results"; : > "$results"
measure() {  # measure NAME CMD... → appends "NAME seconds maxrss_kb"
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || { cat "$work/err.$name" >&2; exit 1; }
  echo "$name $(cat "$work/time.$name")" >> "$results"
}
conn=(-h 127.0.0.1 -p "$port" -U postgres)
measure pg_dump_Fc "$bin/pg_dump" -Fc "${conn[@]}" -f "$work/peer.dump" postgres
measure pg_dump_Z0_zstd1 sh -c "'$bin/pg_dump' -Fc -Z0 ${conn[*]} postgres | zstd -1 -q -o '$work/peer.dump.zst' -f"
measure lifeboat_logical "${owner[@]}" "$lifeboat" backup --policy "$work/logical.yaml" -q
# The same dump with two jobs: pg_dump's directory format, each file compressed by zstd -1.
cat > "$work/logical-jobs.yaml" <<YAML
repository: $work/lb-repo
compression: zstd:1
sources:
  dbj: {type: postgres, host: 127.0.0.1, port: $port, user: postgres, database: postgres, mode: logical, jobs: 2}
YAML
measure pg_dump_Fd_j2_zstd1 sh -c "rm -rf '$work/peer.dir' && '$bin/pg_dump' -Fd -j 2 -Z0 ${conn[*]} -f '$work/peer.dir' postgres && zstd -1 -q --rm -r '$work/peer.dir'"
measure lifeboat_logical_jobs2 "${owner[@]}" "$lifeboat" backup --policy "$work/logical-jobs.yaml" -q
archive_with() {  # each tool's backup runs while the server archives with that tool only
  "$bin/psql" -X -q -At "${conn[@]}" -c "ALTER SYSTEM SET archive_command = '$1'" -c "SELECT pg_reload_conf()" postgres >/dev/null
  sleep 1
}
archive_with "pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p"
measure pgbackrest_backup "${pgbr[@]}" backup --type=full
archive_with "$lifeboat wal push --repo $work/lb-repo %p"
measure lifeboat_physical "${owner[@]}" "$lifeboat" backup --policy "$work/physical.yaml" -q
# Restores vary most on this shared disk: three rounds, alternating, each into a new directory;
# the medians are compared (the last round's directories serve the delta restores below).
for round in 1 2 3; do
  rm -rf "$work/restore-pgbr" "$work/restore-lb"; mkdir -p "$work/restore-pgbr"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$work/restore-pgbr"
  measure "pgbackrest_restore#$round" "${pgbr[@]}" restore --pg1-path="$work/restore-pgbr"
  measure "lifeboat_restore#$round" "${owner[@]}" "$lifeboat" restore latest --repo "$work/lb-repo" --source phys --to-datadir "$work/restore-lb" -q
done
# WAL push, one process per segment as archive_command runs it: 18 real segments of this
# cluster (fetched from lifeboat's archive) into fresh archives of each tool, and the binary's
# own start-up (`lifeboat --version`) as the floor.
mkdir -p "$work/segments"
[[ $(id -u) -eq 0 ]] && chown postgres: "$work/segments"
"${owner[@]}" "$lifeboat" wal list --repo "$work/lb-repo" -q | awk 'length($1) == 24 {print $1}' | tail -n 18 > "$work/segments.txt"
[[ $(wc -l < "$work/segments.txt") -eq 18 ]] || { echo "bench: fewer than 18 archived segments" >&2; exit 1; }
while read -r seg; do "${owner[@]}" "$lifeboat" wal fetch --repo "$work/lb-repo" "$seg" "$work/segments/$seg"; done < "$work/segments.txt"
"${owner[@]}" "$lifeboat" init --repo "$work/lb-walrepo" -q
sed -e "s|repo1-path=$work/pgbr-repo|repo1-path=$work/pgbr-walrepo|" -e "s|lock-path=$work/pgbr-lock|lock-path=$work/pgbr-walrepo-lock|" \
  "$work/pgbackrest.conf" > "$work/pgbackrest-wal.conf"
"${owner[@]}" pgbackrest --config="$work/pgbackrest-wal.conf" --stanza=bench stanza-create >/dev/null
measure lifeboat_version_x18 sh -c "for s in \$(cat '$work/segments.txt'); do '$lifeboat' --version; done"
measure pgbackrest_archive_push_x18 "${owner[@]}" sh -c "for s in \$(cat '$work/segments.txt'); do pgbackrest --config='$work/pgbackrest-wal.conf' --stanza=bench archive-push '$work/segments/'\$s; done"
measure lifeboat_wal_push_x18 "${owner[@]}" sh -c "for s in \$(cat '$work/segments.txt'); do '$lifeboat' wal push --repo '$work/lb-walrepo' '$work/segments/'\$s; done"
# The same 18 segments with archive_command asynchronous: each tool's segments directory has
# pg_wal's archive_status (NAME.ready, renamed to NAME.done once archive_command succeeded, as
# PostgreSQL does), fresh archives, pgBackRest with archive-async=y and process-max=2, lifeboat
# with --async --parallel 2. Timed: archive_command only; both archives are then checked to hold
# all 18 once their background pushers drain.
# pgBackRest wants the segment inside pg1-path: each tool gets a directory laid out as a data
# directory (pg_wal/, archive_status/, and pg_control for pgBackRest's checks).
# async-lblink is lifeboat with --link (a hard link into the spool instead of a copy; what it
# requires of a real server, wal_recycle = off, changes nothing here). The segments are synced
# once copied: PostgreSQL fsyncs a segment before it marks it ready.
for tool in lb lblink pgbr; do
  mkdir -p "$work/async-$tool/pg_wal/archive_status" "$work/async-$tool/global"
  cp "$work/cluster/data/global/pg_control" "$work/async-$tool/global/"
  for s in $(cat "$work/segments.txt"); do
    cp "$work/segments/$s" "$work/async-$tool/pg_wal/$s"; : > "$work/async-$tool/pg_wal/archive_status/$s.ready"
  done
done
sync
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$work/async-lb" "$work/async-lblink" "$work/async-pgbr"
"${owner[@]}" "$lifeboat" init --repo "$work/lb-asyncrepo" -q
"${owner[@]}" "$lifeboat" init --repo "$work/lb-asynclinkrepo" -q
sed -e "s|repo1-path=$work/pgbr-repo|repo1-path=$work/pgbr-asyncrepo|" -e "s|lock-path=$work/pgbr-lock|lock-path=$work/pgbr-async-lock|" \
  -e "s|pg1-path=$work/cluster/data|pg1-path=$work/async-pgbr|" \
  -e "s|^\[global\]|[global]\narchive-async=y\nspool-path=$work/pgbr-spool|" "$work/pgbackrest.conf" > "$work/pgbackrest-async.conf"
"${owner[@]}" pgbackrest --config="$work/pgbackrest-async.conf" --stanza=bench stanza-create --no-online >/dev/null
measure pgbackrest_archive_push_async_x18 "${owner[@]}" sh -c "cd '$work/async-pgbr/pg_wal' && for s in \$(cat '$work/segments.txt'); do pgbackrest --config='$work/pgbackrest-async.conf' --stanza=bench archive-push '$work/async-pgbr/pg_wal/'\$s && mv archive_status/\$s.ready archive_status/\$s.done; done"
measure lifeboat_wal_push_async_x18 "${owner[@]}" sh -c "cd '$work/async-lb/pg_wal' && for s in \$(cat '$work/segments.txt'); do '$lifeboat' wal push --async --parallel 2 --repo '$work/lb-asyncrepo' '$work/async-lb/pg_wal/'\$s && mv archive_status/\$s.ready archive_status/\$s.done; done"
for _ in $(seq 1 300); do
  [[ $("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asyncrepo" -q | awk 'length($1) == 24' | wc -l) -eq 18 ]] \
    && [[ $(find "$work/pgbr-asyncrepo/archive" -name '*.zst' | wc -l) -eq 18 ]] && break
  sleep 0.2
done
[[ $("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asyncrepo" -q | awk 'length($1) == 24' | wc -l) -eq 18 ]] || { echo "bench: lifeboat's async archive lacks segments" >&2; exit 1; }
[[ $(find "$work/pgbr-asyncrepo/archive" -name '*.zst' | wc -l) -eq 18 ]] || { echo "bench: pgBackRest's async archive lacks segments" >&2; exit 1; }
"${owner[@]}" "$lifeboat" wal status --spool "$work/async-lb/pg_wal/lifeboat-spool" >&2
measure lifeboat_wal_push_async_link_x18 "${owner[@]}" sh -c "cd '$work/async-lblink/pg_wal' && for s in \$(cat '$work/segments.txt'); do '$lifeboat' wal push --async --link --parallel 2 --repo '$work/lb-asynclinkrepo' '$work/async-lblink/pg_wal/'\$s && mv archive_status/\$s.ready archive_status/\$s.done; done"
for _ in $(seq 1 300); do
  [[ $("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asynclinkrepo" -q | awk 'length($1) == 24' | wc -l) -eq 18 ]] && break
  sleep 0.2
done
[[ $("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asynclinkrepo" -q | awk 'length($1) == 24' | wc -l) -eq 18 ]] || { echo "bench: lifeboat's async --link archive lacks segments" >&2; exit 1; }
cmp <("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asyncrepo" --json | python3 -c 'import json,sys; print(sorted((f["name"], f["sha256"]) for f in json.load(sys.stdin)["files"]))') \
  <("${owner[@]}" "$lifeboat" wal list --repo "$work/lb-asynclinkrepo" --json | python3 -c 'import json,sys; print(sorted((f["name"], f["sha256"]) for f in json.load(sys.stdin)["files"]))') \
  || { echo "bench: --link archived other content than a copy" >&2; exit 1; }
"${owner[@]}" "$lifeboat" wal status --spool "$work/async-lblink/pg_wal/lifeboat-spool" >&2
# Delta restores: 1% of the relation files changed in place (one byte, same size) in both
# restored directories, then each tool brings its directory back to the backup.
# Three rounds, medians compared.
changed=$(cd "$work/restore-lb" && find base -type f -size +8k | sort | awk 'NR % 100 == 0')
for round in 1 2 3; do
  for d in restore-lb restore-pgbr; do
    for f in $changed; do printf 'X' | dd of="$work/$d/$f" bs=1 seek=4096 conv=notrunc status=none; done
  done
  measure "pgbackrest_restore_delta#$round" "${pgbr[@]}" restore --delta --pg1-path="$work/restore-pgbr"
  measure "lifeboat_restore_delta#$round" "${owner[@]}" "$lifeboat" restore latest --repo "$work/lb-repo" --source phys --to-datadir "$work/restore-lb" --delta -q
done
# Point-in-time replay of 220 segments after the base backup (a row and a WAL switch each),
# restored to the end of the archive and started, with restore_command's prefetch (default 8)
# and without it (--wal-prefetch 0); the "wal replay" phase of each is compared.
# Both tools archive from here, and pgBackRest takes an incremental backup (little changed since
# its full one) as the base of its own replay of the same segments (below).
archive_with "$lifeboat wal push --repo $work/lb-repo %p && pgbackrest --config=$work/pgbackrest.conf --stanza=bench archive-push %p"
"${pgbr[@]}" backup --type=incr >/dev/null
"$bin/psql" -X -q "${conn[@]}" -c "CREATE TABLE replay_marks (id serial, t timestamptz DEFAULT clock_timestamp())" postgres
for _ in $(seq 1 220); do "$bin/psql" -X -q -At "${conn[@]}" -c "INSERT INTO replay_marks DEFAULT VALUES" -c "SELECT pg_switch_wal()" postgres >/dev/null; done
last=$("$bin/psql" -X -At "${conn[@]}" -c "SELECT pg_walfile_name(pg_current_wal_lsn())" postgres)
"$bin/psql" -X -q -At "${conn[@]}" -c "SELECT pg_switch_wal()" postgres >/dev/null
for _ in $(seq 1 600); do
  [[ "$("$bin/psql" -X -At "${conn[@]}" -c "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver" postgres)" == t ]] && break; sleep 0.2
done
for mode in prefetch:8 noprefetch:0; do
  name=${mode%%:*} depth=${mode##*:}
  "${owner[@]}" "$lifeboat" restore --repo "$work/lb-repo" --source phys --at latest --to-datadir "$work/replay-$name" \
    --port 16540 --start --wal-prefetch "$depth" --json > "$work/replay-$name.json"
  "${owner[@]}" "$bin/pg_ctl" -D "$work/replay-$name" -m immediate -w stop >/dev/null
  python3 -c "import json,sys; o=json.load(open(sys.argv[1]))['outcome']; print(sys.argv[2], [p['seconds'] for p in o['phases'] if p['name'] == 'wal replay'][0], 0)" \
    "$work/replay-$name.json" "lifeboat_replay_$name" >> "$results"
done
# pgBackRest's restore of its incremental backup (taken just after lifeboat's, before the 220
# segments) to the end of the same archive, timed as lifeboat's "wal replay" phase is:
# from pg_ctl start to pg_is_in_recovery() false. archive-get synchronous, then asynchronous
# (archive-async=y: its prefetch queue, archive-get-queue-max at its default).
sed -e "s|^\[global\]|[global]\narchive-async=y\nspool-path=$work/pgbr-replay-spool|" "$work/pgbackrest.conf" > "$work/pgbackrest-replay-async.conf"
for mode in sync async; do
  config="$work/pgbackrest.conf"; [[ $mode == async ]] && config="$work/pgbackrest-replay-async.conf"
  dir="$work/replay-pgbr-$mode"
  "${owner[@]}" pgbackrest --config="$config" --stanza=bench restore --pg1-path="$dir" --type=default --archive-mode=off >/dev/null
  began=$(date +%s.%N)
  "${owner[@]}" "$bin/pg_ctl" -D "$dir" -o "-p 16541 -c unix_socket_directories=$dir" -l "$work/replay-pgbr-$mode.log" start >/dev/null
  for _ in $(seq 1 3000); do
    [[ "$("$bin/psql" -X -At -h "$dir" -p 16541 -U postgres -c "SELECT pg_is_in_recovery()" postgres 2>/dev/null)" == f ]] && break; sleep 0.05
  done
  echo "pgbackrest_replay_$mode $(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),3))" "$began") 0" >> "$results"
  "${owner[@]}" "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null
done
stored_lb_phys=$(du -sb --exclude=wal "$work/lb-repo" | cut -f1)
stored_pgbr=$(du -sb "$work/pgbr-repo/backup" | cut -f1)
python3 - "$results" "$db_bytes" "$scale" "$stored_lb_phys" "$stored_pgbr" <<'PY'
import sys, json, os
import statistics
raw = {}
for line in open(sys.argv[1]):
    name, seconds, rss = line.split()
    raw.setdefault(name.split("#")[0], []).append((float(seconds), int(rss)))
# Repeated runs (NAME#ROUND): the median time, the largest RSS.
rows = {k: (statistics.median(s for s, _ in v), max(m for _, m in v)) for k, v in raw.items()}
rounds = {k: len(v) for k, v in raw.items()}
db, scale, lb, br = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
print(f"PostgreSQL: pgbench scale {scale}, database {db/2**20:.0f} MiB; warm cache, {os.cpu_count()} cores; restores: median of 3 rounds")
print(f"{'run':<34}{'seconds':>9}{'peak RSS MiB':>14}")
for k, (s, m) in rows.items():
    print(f"{k + (f' (median of {rounds[k]})' if rounds[k] > 1 else ''):<34}{s:>9.2f}{m/1024:>14.1f}")
print(f"stored MiB (logical + physical for lifeboat): lifeboat {lb/2**20:.0f}, pgBackRest {br/2**20:.0f}")
r = lambda a, b: rows[a][0] / max(rows[b][0], 0.001)
ratios = {
  "logical_vs_pg_dump_Z0_zstd1": (r("lifeboat_logical", "pg_dump_Z0_zstd1"), 1.05),
  "logical_vs_pg_dump_Fc": (r("lifeboat_logical", "pg_dump_Fc"), None),
  "logical_jobs2_vs_pg_dump_Fd_j2_zstd1": (r("lifeboat_logical_jobs2", "pg_dump_Fd_j2_zstd1"), 1.05),
  "logical_jobs2_vs_one_job": (r("lifeboat_logical_jobs2", "lifeboat_logical"), None),
  "physical_backup_vs_pgbackrest": (r("lifeboat_physical", "pgbackrest_backup"), 0.5),
  "physical_restore_vs_pgbackrest": (r("lifeboat_restore", "pgbackrest_restore"), 1.0),
  "wal_push_vs_pgbackrest_archive_push": (r("lifeboat_wal_push_x18", "pgbackrest_archive_push_x18"), 1.0),
  "wal_push_vs_startup": (r("lifeboat_wal_push_x18", "lifeboat_version_x18"), None),
  "wal_push_async_vs_startup": (r("lifeboat_wal_push_async_x18", "lifeboat_version_x18"), 2.0),
  "wal_push_async_vs_pgbackrest_async": (r("lifeboat_wal_push_async_x18", "pgbackrest_archive_push_async_x18"), 1.0),
  "wal_push_async_link_vs_startup": (r("lifeboat_wal_push_async_link_x18", "lifeboat_version_x18"), 2.0),
  "wal_push_async_link_vs_pgbackrest_async": (r("lifeboat_wal_push_async_link_x18", "pgbackrest_archive_push_async_x18"), 1.0),
  "replay_220_segments_prefetch_vs_none": (r("lifeboat_replay_prefetch", "lifeboat_replay_noprefetch"), 0.6),
  "replay_prefetch_vs_pgbackrest_async": (r("lifeboat_replay_prefetch", "pgbackrest_replay_async"), 1.0),
  "replay_none_vs_pgbackrest_sync": (r("lifeboat_replay_noprefetch", "pgbackrest_replay_sync"), None),
  "delta_restore_vs_pgbackrest_delta": (r("lifeboat_restore_delta", "pgbackrest_restore_delta"), 1.0),
  "delta_restore_vs_full_restore": (r("lifeboat_restore_delta", "lifeboat_restore"), 0.4),
}
for k, (v, target) in ratios.items():
    print(f"ratio {k}: {v:.2f}" + (f" (target <= {target})" if target else ""))
print(f"peak RSS lifeboat: logical {rows['lifeboat_logical'][1]/1024:.0f} MiB, physical {rows['lifeboat_physical'][1]/1024:.0f} MiB, restore {rows['lifeboat_restore'][1]/1024:.0f} MiB (target < 100)")
json.dump({"database_bytes": db, "runs": rows, "ratios": {k: v for k, (v, _) in ratios.items()}}, open(sys.argv[1] + ".json", "w"), indent=2)
PY
