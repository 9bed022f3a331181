#!/usr/bin/env bash
# Repository growth per source type (#14), format 2 against restic 0.14 on the same bytes:
#   redis     1,000,000 keys; then 100 keys changed; then 10,000 keys changed. Lifeboat backs up
#             the server (bgsave); restic backs up the RDB file that backup read (dump.rdb).
#   pg-tables a logical dump of five tables (~20 MB each); then one table grew 2% by inserts.
#             Target: the second snapshot adds <= 10% of the first's stored bytes.
#   pgbench   a logical dump of pgbench (BENCH_PG_SCALE, default 10); then 1% of pgbench_accounts
#             rows updated. Lifeboat backs up the server; restic backs up `pg_dump -Fc -Z0` files
#             taken at the same two states. Target: growth <= 1.1x restic's.
#   physical  a base backup; then an insert-only table grew 2%. Target: adds <= 10%.
#   chroma    a persist directory of three collections (BENCH_CHROMA_VECTORS each, default
#             10,000, 384 dimensions); then one collection changed (10% of its vectors updated,
#             5% added). Lifeboat backs up the directory (mode: directory, stop/copy/start);
#             restic backs up the same directory with the server stopped. Target: growth <= 1.1x
#             restic's.
# Growth is what the repository grew by (packs, index and manifests; restic: its whole
# directory), in MiB.
# Usage: scripts/bench/bench-growth.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
scripts/setup.sh bench
swift build -c release --static-swift-stdlib >/dev/null
lifeboat="$PWD/.build/release/lifeboat"
work="$PWD/bench-work/growth"
bin=/usr/lib/postgresql/15/bin
owner=(); [[ $(id -u) -eq 0 ]] && owner=(runuser -u postgres --)
rport=16599; pport=16632; cport=16833
redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
scripts/sandbox/pg-sandbox.sh stop "$work/cluster" 2>/dev/null || true
rm -rf "$work"; mkdir -p "$work"
[[ $(id -u) -eq 0 ]] && chown postgres: "$work"
trap 'redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true; scripts/sandbox/pg-sandbox.sh stop "$work/cluster" >/dev/null 2>&1 || true; scripts/sandbox/chroma-sandbox.sh stop "$work/chroma" >/dev/null 2>&1 || true' EXIT
printf 'bench-password-not-secret\n' > "$work/restic-pass"; chmod 644 "$work/restic-pass"
export RESTIC_PASSWORD_FILE="$work/restic-pass"
results="$work/results"; : > "$results"
size() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
lb_size() { size "$1/packs" "$1/index" "$1/snapshots"; }
record() { echo "$1 $2 $3 $4" >> "$results"; }   # case step lifeboat_bytes restic_bytes

# Redis.
rdir="$work/redis"
scripts/sandbox/redis-sandbox.sh "$rdir" "$rport" >/dev/null
redis-cli -p "$rport" debug populate 1000000 key 64 >/dev/null
"$lifeboat" init --repo "$work/lb-redis" -q
restic init --repo "$work/restic-redis" -q >/dev/null
printf 'repository: %s\nsources:\n  cache: {type: redis, port: %s, config: %s}\n' "$work/lb-redis" "$rport" "$rdir/redis.conf" > "$work/redis.yaml"
mkdir -p "$work/rdb"
for step in base 100 10000; do
  if [[ $step != base ]]; then
    python3 - "$rport" "$step" <<'PY'
import random, subprocess, sys
port, count = sys.argv[1], int(sys.argv[2])
rnd = random.Random(count)
cmds = "".join(f"SET key:{rnd.randrange(1000000)} changed-{rnd.random()}\n" for _ in range(count))
subprocess.run(["redis-cli", "-p", port], input=cmds.encode(), stdout=subprocess.DEVNULL, check=True)
PY
  fi
  "$lifeboat" backup --policy "$work/redis.yaml" -q >/dev/null
  cp "$rdir/dump.rdb" "$work/rdb/dump.rdb"
  restic backup --repo "$work/restic-redis" -q "$work/rdb" >/dev/null
  record redis "$step" "$(lb_size "$work/lb-redis")" "$(size "$work/restic-redis")"
done
redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true

# PostgreSQL.
"${owner[@]}" "$lifeboat" init --repo "$work/lb-pg" -q
"${owner[@]}" "$lifeboat" init --repo "$work/lb-pgbench" -q
"${owner[@]}" "$lifeboat" init --repo "$work/lb-phys" -q
scripts/sandbox/pg-sandbox.sh start "$work/cluster" "$pport" "archive_mode = on" "archive_command = '$lifeboat wal push --repo $work/lb-phys %p'" >/dev/null
psql=("$bin/psql" -X -q -At -h 127.0.0.1 -p "$pport" -U postgres)
"${psql[@]}" -c "CREATE DATABASE five" -c "CREATE DATABASE bench" postgres
for t in 1 2 3 4 5; do
  "${psql[@]}" -c "CREATE TABLE t$t AS SELECT g AS id, md5(g::text) || md5((g * $t)::text) AS payload FROM generate_series(1, 250000) g" five
done
"$bin/pgbench" -q -i -s "${BENCH_PG_SCALE:-10}" -h 127.0.0.1 -p "$pport" -U postgres bench 2>/dev/null
"${psql[@]}" -c "CREATE TABLE grows AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 500000) g" postgres
"${psql[@]}" -c CHECKPOINT postgres
for db in five bench; do
  printf 'repository: %s\nsources:\n  db: {type: postgres, host: 127.0.0.1, port: %s, user: postgres, database: %s, mode: logical}\n' \
    "$work/lb-$([[ $db == five ]] && echo pg || echo pgbench)" "$pport" "$db" > "$work/$db.yaml"
done
printf 'repository: %s\nsources:\n  phys: {type: postgres, host: 127.0.0.1, port: %s, user: postgres, mode: physical}\n' "$work/lb-phys" "$pport" > "$work/phys.yaml"
restic init --repo "$work/restic-pgbench" -q >/dev/null
mkdir -p "$work/dumps"
for step in base changed; do
  if [[ $step == changed ]]; then
    "${psql[@]}" -c "INSERT INTO t3 SELECT g, md5(g::text) FROM generate_series(250001, 255000) g" five
    "${psql[@]}" -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 7" bench
  fi
  "${owner[@]}" "$lifeboat" backup --policy "$work/five.yaml" -q >/dev/null
  record pg-tables "$step" "$(lb_size "$work/lb-pg")" 0
  "${owner[@]}" "$lifeboat" backup --policy "$work/bench.yaml" -q >/dev/null
  "$bin/pg_dump" -Fc -Z0 -h 127.0.0.1 -p "$pport" -U postgres -f "$work/dumps/bench.dump" bench
  restic backup --repo "$work/restic-pgbench" -q "$work/dumps" >/dev/null
  record pgbench "$step" "$(lb_size "$work/lb-pgbench")" "$(size "$work/restic-pgbench")"
done
# Physical: only the insert-only table changes between the two base backups.
"${psql[@]}" -c CHECKPOINT postgres
for step in base changed; do
  [[ $step == changed ]] && "${psql[@]}" -c "INSERT INTO grows SELECT g, md5(g::text) FROM generate_series(500001, 510000) g" -c CHECKPOINT postgres
  "${owner[@]}" "$lifeboat" backup --policy "$work/phys.yaml" -q >/dev/null
  record physical "$step" "$(lb_size "$work/lb-phys")" 0
done

# Chroma (directory mode): the server is stopped for each copy, Lifeboat's and restic's alike.
venv=$(scripts/sandbox/chroma-venv.sh)
cdir="$work/chroma"; chroma=(scripts/sandbox/chroma-sandbox.sh)
"${chroma[@]}" start "$cdir" "$cport" "$cdir/data" >/dev/null
"$venv/bin/python" - "$cport" "${BENCH_CHROMA_VECTORS:-10000}" base <<'PY'
import random, sys, chromadb
port, count = int(sys.argv[1]), int(sys.argv[2])
client = chromadb.HttpClient(host="127.0.0.1", port=port)
for c in range(3):
    rnd = random.Random(c)
    col = client.create_collection(f"docs{c}", metadata={"hnsw:space": "cosine"})
    for start in range(0, count, 2000):
        ids = [f"d{c}-{i}" for i in range(start, min(count, start + 2000))]
        col.add(ids=ids, embeddings=[[rnd.random() for _ in range(384)] for _ in ids],
                documents=[f"document {i} of collection {c}: " + "lorem ipsum " * 8 for i in range(start, start + len(ids))])
PY
"$lifeboat" init --repo "$work/lb-chroma" -q
restic init --repo "$work/restic-chroma" -q >/dev/null
printf 'repository: %s\nsources:\n  vectors: {type: chroma, url: "http://127.0.0.1:%s", path: %s, stop: "%s stop %s", start: "%s start %s %s %s"}\n' \
  "$work/lb-chroma" "$cport" "$cdir/data" "$PWD/scripts/chroma-sandbox.sh" "$cdir" "$PWD/scripts/chroma-sandbox.sh" "$cdir" "$cport" "$cdir/data" > "$work/chroma.yaml"
for step in base changed; do
  if [[ $step == changed ]]; then
    "$venv/bin/python" - "$cport" "${BENCH_CHROMA_VECTORS:-10000}" <<'PY'
import random, sys, chromadb
port, count = int(sys.argv[1]), int(sys.argv[2])
col = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection("docs1")
rnd = random.Random(99)
ids = [f"d1-{i}" for i in rnd.sample(range(count), count // 10)] + [f"d1-{i}" for i in range(count, count + count // 20)]
for start in range(0, len(ids), 2000):
    batch = ids[start:start + 2000]
    col.upsert(ids=batch, embeddings=[[rnd.random() for _ in range(384)] for _ in batch], documents=[f"changed {i}" for i in batch])
PY
  fi
  "$lifeboat" backup --policy "$work/chroma.yaml" -q >/dev/null
  "${chroma[@]}" stop "$cdir"
  restic backup --repo "$work/restic-chroma" -q "$cdir/data" >/dev/null
  "${chroma[@]}" start "$cdir" "$cport" "$cdir/data" >/dev/null
  record chroma "$step" "$(lb_size "$work/lb-chroma")" "$(size "$work/restic-chroma")"
done
"${chroma[@]}" stop "$cdir"

python3 - "$results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    case, step, lb, rs = line.split(); rows.setdefault(case, []).append((step, int(lb), int(rs)))
mib = lambda b: b / 2**20
for case, steps in rows.items():
    base = steps[0]
    print(f"{case}: first snapshot lifeboat {mib(base[1]):.1f} MiB" + (f", restic {mib(base[2]):.1f} MiB" if base[2] else ""))
    for (step, lb, rs), (_, plb, prs) in zip(steps[1:], steps):
        line = f"  after {step}: lifeboat grew {mib(lb - plb):.2f} MiB ({(lb - plb) / base[1] * 100:.1f}% of the first)"
        if rs:
            line += f", restic grew {mib(rs - prs):.2f} MiB, ratio {(lb - plb) / max(rs - prs, 1):.2f}"
        print(line)
PY
