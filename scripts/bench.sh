#!/usr/bin/env bash
# Side-by-side benchmark, one run, same data, warm page cache: backs up the same directory with
# lifeboat, with `tar -cf - DIR | zstd -3 -T0`, and with restic (fresh repository), then restores
# each; prints times, peak RSS and stored sizes, and lifeboat's ratios against each peer.
# Usage: scripts/bench.sh            (BENCH_MB=1024 by default: the size of the generated data)
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
results="$work/results"
files=$(find "$data" -type f ! -name '.complete-*' | wc -l)

rm -rf "$work/lb-repo" "$work/restic-repo" "$work/tar.zst" "$work/restore-"*; : > "$results"
printf 'bench-password-not-secret\n' > "$work/restic-pass"; chmod 600 "$work/restic-pass"
export RESTIC_PASSWORD_FILE="$work/restic-pass"
printf 'repository: %s\nsources:\n  data: {type: files, path: %s}\n' "$work/lb-repo" "$data" > "$work/policy.yaml"
"$lifeboat" init --repo "$work/lb-repo" -q
restic init --repo "$work/restic-repo" -q >/dev/null

measure tar_zstd_backup sh -c "tar -C '$data' -cf - . | zstd -3 -T0 -q -o '$work/tar.zst'"
measure restic_backup restic backup --repo "$work/restic-repo" -q "$data"
measure lifeboat_backup "$lifeboat" backup --policy "$work/policy.yaml" -q
mkdir -p "$work/restore-tar"
measure tar_zstd_restore sh -c "zstd -dc -q '$work/tar.zst' | tar -C '$work/restore-tar' -xf -"
measure restic_restore restic restore latest --repo "$work/restic-repo" -q --target "$work/restore-restic"
measure lifeboat_restore "$lifeboat" restore latest --repo "$work/lb-repo" --to "$work/restore-lifeboat" -q
diff -rq "$data" "$work/restore-lifeboat" >/dev/null || { echo "bench: lifeboat restore differs from the data" >&2; exit 1; }

stored_tar=$(stat -c %s "$work/tar.zst")
stored_restic=$(du -sb "$work/restic-repo" | cut -f1)
stored_lb=$(du -sb "$work/lb-repo" | cut -f1)
python3 - "$work/results" "$bytes" "$files" "$stored_tar" "$stored_restic" "$stored_lb" <<'PY'
import sys, json
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
data, files, st, sr, sl = (int(x) for x in sys.argv[2:7])
print(f"data: {data/2**20:.0f} MiB in {files} files; one run each, warm cache, {__import__('os').cpu_count()} cores")
print(f"{'run':<18}{'seconds':>9}{'peak RSS MiB':>14}{'MiB/s':>9}")
for k, (s, m) in rows.items():
    print(f"{k:<18}{s:>9.2f}{m/1024:>14.1f}{data/2**20/max(s,0.001):>9.0f}")
print(f"stored MiB: lifeboat {sl/2**20:.0f}, tar|zstd -3 {st/2**20:.0f}, restic {sr/2**20:.0f}")
r = lambda a, b: rows[a][0] / max(rows[b][0], 0.001)
m = lambda a, b: rows[a][1] / max(rows[b][1], 1)
ratios = {
  "backup_time_vs_restic": r("lifeboat_backup", "restic_backup"),
  "backup_rss_vs_restic": m("lifeboat_backup", "restic_backup"),
  "backup_time_vs_tar_zstd": r("lifeboat_backup", "tar_zstd_backup"),
  "restore_time_vs_restic": r("lifeboat_restore", "restic_restore"),
  "restore_time_vs_tar_zstd": r("lifeboat_restore", "tar_zstd_restore"),
}
print("ratios (lifeboat / peer; < 1 is better): " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
json.dump({"data_bytes": data, "files": files, "runs": rows, "ratios": ratios}, open(sys.argv[1] + ".json", "w"), indent=2)
PY

# Retention planning at scale: one million RFC 3339 timestamps through every rule (target < 2 s).
python3 - "$work/times-1m.txt" <<'PY'
import sys, random, datetime as dt
r = random.Random(1); base = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
with open(sys.argv[1], "w") as f:
    for _ in range(1_000_000):
        f.write((base + dt.timedelta(seconds=r.randrange(6 * 365 * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")
PY
/usr/bin/time -f "%e %M" -o "$work/time.plan" "$lifeboat" retention plan --times "$work/times-1m.txt" --keep-last 10 \
  --keep-hourly 48 --keep-daily 30 --keep-weekly 52 --keep-monthly 24 --keep-yearly 10 --keep-within 30d --json >/dev/null
read -r plan_s plan_kb < "$work/time.plan"
echo "retention plan: 1,000,000 timestamps, all rules: ${plan_s} s, peak RSS $((plan_kb / 1024)) MiB (target < 2 s)"

# Redis: 2M keys. Lifeboat's capture (including compression and hashing) against
# `redis-cli --rdb - | zstd -3` on the same server, diskless sync delay 0 for both.
rdir="$work/redis"; rport=16499
rm -rf "$rdir"; scripts/sandbox/redis-sandbox.sh "$rdir" "$rport" "repl-diskless-sync-delay 0" >/dev/null
trap 'redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true' EXIT  # before the PostgreSQL part, which sets its own
redis-cli -p "$rport" debug populate 2000000 key 16 >/dev/null
printf 'repository: %s\nsources:\n  bg: {type: redis, port: %s, config: %s}\n  rep: {type: redis, port: %s, method: replica}\n' \
  "$work/lb-redis" "$rport" "$rdir/redis.conf" "$rport" > "$work/redis-policy.yaml"
rm -rf "$work/lb-redis"; "$lifeboat" init --repo "$work/lb-redis" -q
: > "$work/results"
measure redis_cli_rdb_zstd sh -c "redis-cli -p $rport --rdb - 2>/dev/null | zstd -3 -q -o '$work/peer.rdb.zst' -f"
idle() { while redis-cli -p "$rport" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.05; done; }
idle  # the peer's sync child may still be exiting; a capture would rightly wait for it
measure lifeboat_bgsave "$lifeboat" backup --policy "$work/redis-policy.yaml" --source bg -q
idle
measure lifeboat_replica "$lifeboat" backup --policy "$work/redis-policy.yaml" --source rep -q
python3 - "$work/results" <<'PY'
import sys
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
peer = rows["redis_cli_rdb_zstd"][0]
for k, (s, m) in rows.items():
    print(f"{k:<20}{s:>8.2f} s{m/1024:>8.1f} MiB   ratio vs redis-cli --rdb | zstd -3: {s/max(peer,0.001):.2f} (target <= 1.2)")
PY

# Repository backends and encryption: the same data to disk and to Ceph RGW, plain and encrypted.
scripts/bench/bench-storage.sh

# PostgreSQL: logical and physical backups, physical restore, against pg_dump and pgBackRest.
scripts/bench/bench-postgres.sh
