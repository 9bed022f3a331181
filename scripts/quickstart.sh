#!/usr/bin/env bash
# The main job on a local sandbox, end to end: installs what it needs, builds lifeboat, starts
# PostgreSQL 15 (WAL archived by `lifeboat wal push`, archive_timeout 1 s, a pgbench database),
# Redis and Chroma (2 collections of 384-dimensional vectors) on loopback under ./.quickstart,
# backs up all three, deep-verifies, and ends with a failover drill: heartbeats every 100 ms,
# SIGKILL of the PostgreSQL and Redis primaries, recovery from the repository on standby ports,
# checks, measured RTO and RPO. The last line printed is the path of the drill's JSON report
# (beside it: .md and .html). Each run starts from a fresh ./.quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh quickstart
venv=$(scripts/sandbox/chroma-venv.sh)
swift build -c release --static-swift-stdlib >&2
lifeboat="$PWD/.build/release/lifeboat"
qs="$PWD/.quickstart"
pg_port=16632 redis_port=16679 chroma_port=16800
stop_all() {
  scripts/sandbox/chroma-sandbox.sh stop "$qs/chroma" >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  scripts/sandbox/pg-sandbox.sh stop "$qs/pg" >/dev/null 2>&1 || true
}
stop_all
rm -rf "$qs"; mkdir -p "$qs"
owner=()
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$qs"; owner=(runuser -u postgres --); fi
# Root runs the servers as postgres (PostgreSQL refuses root) and the rest as itself: at the end,
# everything under ./.quickstart is given to postgres, so the repository, its lock and its drill
# reports have one owner.
finish() {
  stop_all
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$qs" 2>/dev/null || true; fi
}
trap finish EXIT

"${owner[@]}" "$lifeboat" init --repo "$qs/repo" -q   # the server's user archives WAL into it
scripts/sandbox/pg-sandbox.sh start "$qs/pg" "$pg_port" "archive_mode = on" \
  "archive_command = '$lifeboat wal push --repo $qs/repo %p'" "archive_timeout = 1s" >&2
psql=(psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE app"
/usr/lib/postgresql/15/bin/pgbench -q -i -s 2 -h 127.0.0.1 -p "$pg_port" -U postgres app 2>/dev/null
scripts/sandbox/redis-sandbox.sh "$qs/redis" "$redis_port" >&2
redis-cli -p "$redis_port" debug populate 20000 session 64 >/dev/null
scripts/sandbox/chroma-sandbox.sh start "$qs/chroma" "$chroma_port" >&2
"$venv/bin/python" - "$chroma_port" <<'PY' >&2
import sys, chromadb, numpy as np
rng = np.random.default_rng(7)
client = chromadb.HttpClient(host="127.0.0.1", port=int(sys.argv[1]))
for name, n in [("support-articles", 3000), ("product-images", 2000)]:
    centres = rng.normal(size=(30, 384))
    v = centres[rng.integers(0, 30, n)] + 0.3 * rng.normal(size=(n, 384))
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).tolist()
    col = client.get_or_create_collection(name, metadata={"hnsw:space": "cosine"})
    for s in range(0, n, 2000):
        col.add(ids=[f"{name}-{i}" for i in range(s, min(n, s + 2000))], embeddings=v[s:s + 2000])
    print(f"quickstart: {name}: {col.count()} vectors", file=sys.stderr)
PY

cat > "$qs/policy.yaml" <<YAML
repository: $qs/repo
sources:
  db: {type: postgres, host: 127.0.0.1, port: $pg_port, database: app, user: postgres, mode: physical}
  cache: {type: redis, port: $redis_port, config: $qs/redis/redis.conf}
  vectors:
    type: chroma
    url: "http://127.0.0.1:$chroma_port"
    path: $qs/chroma/data
    stop: "$PWD/scripts/sandbox/chroma-sandbox.sh stop $qs/chroma"
    start: "$PWD/scripts/sandbox/chroma-sandbox.sh start $qs/chroma $chroma_port"
    objectives: {rpo: 24h, rto: 5m}
schedules:
  hourly: {cron: "0 * * * *", retention: {keep-hourly: 24, keep-daily: 7}}
YAML
name=$("$lifeboat" backup --policy "$qs/policy.yaml" --schedule hourly)
echo "== backed up $name (PostgreSQL base backup, Redis RDB, Chroma directory)" >&2
"$lifeboat" snapshots --repo "$qs/repo" >&2
"$lifeboat" verify --repo "$qs/repo" --deep >&2
# Nothing writes to Redis between the backup and here, so its digest now is the snapshot's
# content: the drill checks the recovered server against it.
cache_digest=$(redis-cli -p "$redis_port" debug digest)

cat > "$qs/failover.yaml" <<YAML
drill: quickstart-failover
policy: $qs/policy.yaml
kind: failover
heartbeat: {interval: 100ms, run: 5s}
sources:
  db:
    primary: {datadir: $qs/pg/data, sandbox: true}
    target: {directory: $qs/standby/db, port: 16633}
    checks:
      - {sql: "SELECT count(*) FROM pgbench_branches", expect: "2"}
      - {sql: "SELECT count(*) FROM pgbench_accounts", expect: "200000"}
      - {heartbeats: recovered}
  cache:
    primary: {sandbox: true}
    target: {directory: $qs/standby/cache, port: 16680}
    checks: [{redis: digest, expect: "$cache_digest"}]
  vectors:
    target:
      directory: $qs/standby/vectors
      port: 16801
      start: "$PWD/scripts/sandbox/chroma-sandbox.sh start {directory}.lifeboat-server {port} {directory}"
      stop: "$PWD/scripts/sandbox/chroma-sandbox.sh stop {directory}.lifeboat-server"
objectives:
  db: {rto: 5m, rpo: 1m}
  cache: {rto: 5m, rpo: 1h}
  vectors: {rto: 5m, rpo: 1h}
YAML
echo "== failover drill: heartbeats for 5 s, SIGKILL of PostgreSQL and Redis, recovery on standby ports" >&2
rc=0
"$lifeboat" drill --plan "$qs/failover.yaml" --report-dir "$qs/reports" > "$qs/drill.out" || rc=$?
head -n -1 "$qs/drill.out" >&2   # the summary (and any failed check) on stderr,
# The README shows this drill's report: check that it still says what a run really prints
# (a mismatch fails CI, and warns elsewhere).
report=$(tail -n 1 "$qs/drill.out")
if [[ "$report" == *.json ]] && ! python3 scripts/dev/readme-drill-excerpt.py README.md "${report%.json}.md"; then
  if [[ -n "${CI:-}" ]]; then rc=1; fi
fi
tail -n 1 "$qs/drill.out"        # the report's path as the last line on stdout
exit "$rc"
