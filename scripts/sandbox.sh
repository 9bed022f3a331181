#!/usr/bin/env bash
# A smaller tour than quickstart.sh, on a local sandbox: installs what it needs, builds lifeboat, creates a sample
# config tree, starts a Redis server (loopback port 16479) and a PostgreSQL 15 cluster (port
# 16432, with a pgbench database `app`) under ./.sandbox, then backup → snapshots →
# verify --deep → restore all three (the config tree into a directory, Redis into a scratch
# server on port 16480, PostgreSQL into a new database) → compare (diff, DEBUG DIGEST, table
# checksums) → a restore drill (drills/sandbox-restore.yaml) → stop the servers.
# Run it again to add another snapshot to the same repository.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh quickstart
swift build -c release --static-swift-stdlib
lifeboat="$PWD/.build/release/lifeboat"
sandbox="$PWD/.sandbox"
src="$sandbox/app-config"
mkdir -p "$src/grafana-dashboards" "$src/bin"

if [[ ! -f "$src/app.yaml" ]]; then
  printf 'service: rag-api\nport: 8080\nvector_store: http://127.0.0.1:6333\n' > "$src/app.yaml"
  printf 'DATABASE_URL=postgres://app@127.0.0.1/app\nOPENAI_API_KEY=sk-sandbox-not-a-secret\n' > "$src/.env.production"
  chmod 600 "$src/.env.production"
  printf '#!/bin/sh\nexec rag-api --config /etc/rag/app.yaml\n' > "$src/bin/start.sh"
  chmod 755 "$src/bin/start.sh"
  printf '{"title":"RAG latency"}\n' > "$src/grafana-dashboards/latency.json"
  head -c 4000000 /dev/urandom > "$src/embeddings-cache.bin"
  ln -sf app.yaml "$src/current.yaml"
fi
date -u +%FT%TZ > "$src/last-deploy.txt"

redis_port=16479 scratch_port=16480 pg_port=16432
redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
scripts/sandbox/pg-sandbox.sh stop "$sandbox/postgres"
scripts/sandbox/redis-sandbox.sh "$sandbox/redis" "$redis_port"
scripts/sandbox/pg-sandbox.sh start "$sandbox/postgres" "$pg_port"
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; redis-cli -p "$scratch_port" shutdown nosave >/dev/null 2>&1 || true; scripts/sandbox/pg-sandbox.sh stop "$sandbox/postgres"' EXIT
redis-cli -p "$redis_port" debug populate 20000 session 64 >/dev/null
for i in $(seq 1 20); do redis-cli -p "$redis_port" xadd jobs '*' job "embed-$i" >/dev/null; done
psql=(psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres)
if [[ -z $("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'app'") ]]; then
  "${psql[@]}" -d postgres -c "CREATE DATABASE app"
  /usr/lib/postgresql/15/bin/pgbench -q -i -s 2 -h 127.0.0.1 -p "$pg_port" -U postgres app 2>/dev/null
fi
"${psql[@]}" -d app -c "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())"
checksums() {  # one line per table: name, row count, md5 of all rows in a stable order
  for t in pgbench_accounts pgbench_branches pgbench_history pgbench_tellers; do
    echo "$t $("${psql[@]}" -d "$1" -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM $t t")"
  done
}

cat > "$sandbox/policy.yaml" <<YAML
repository: ./repo
compression: zstd:3
sources:
  config:
    type: files
    path: ./app-config
  cache:
    type: redis
    port: $redis_port
    config: ./redis/redis.conf
  db:
    type: postgres
    host: 127.0.0.1
    port: $pg_port
    database: app
    user: postgres
    mode: logical
schedules:
  daily:
    cron: "0 2 * * *"
YAML

[[ -f "$sandbox/repo/config.json" ]] || "$lifeboat" init --repo "$sandbox/repo"
name=$("$lifeboat" backup --policy "$sandbox/policy.yaml" --schedule daily)
echo "== backed up: $name"
"$lifeboat" snapshots --repo "$sandbox/repo"
echo "== verify --deep"
"$lifeboat" verify --repo "$sandbox/repo" --deep
target="$sandbox/restored-$name"
echo "== restore $name → $target"
"$lifeboat" restore "$name" --repo "$sandbox/repo" --source config --to "$target"
diff -r --no-dereference "$src" "$target"
echo "== restored tree is identical to the source"
scratch="$sandbox/redis-restored-$name"
echo "== restore $name cache → scratch Redis on port $scratch_port ($scratch)"
"$lifeboat" restore "$name" --repo "$sandbox/repo" --source cache --to "$scratch" --port "$scratch_port"
original=$(redis-cli -p "$redis_port" debug digest) restored=$(redis-cli -p "$scratch_port" debug digest)
[[ "$original" == "$restored" ]] || { echo "sandbox: Redis digests differ: $original vs $restored" >&2; exit 1; }
echo "== restored Redis has the same DEBUG DIGEST ($restored)"
restored_db="app_restored_$(date -u +%Y%m%d%H%M%S)"
echo "== restore $name db → database $restored_db"
"$lifeboat" restore "$name" --repo "$sandbox/repo" --source db --to-database "$restored_db"
diff <(checksums app) <(checksums "$restored_db")
"${psql[@]}" -d postgres -c "DROP DATABASE $restored_db"
echo "== restored PostgreSQL database has identical table checksums. Repository: $sandbox/repo"
echo "== restore drill (drills/sandbox-restore.yaml): scratch targets, checks, measured RTO/RPO"
"$lifeboat" drill --plan drills/sandbox-restore.yaml --report-dir "$sandbox/reports"

# The same sources into an S3 repository on a throwaway Ceph RGW, encrypted write-only to an
# X25519 public key: the backup needs no key; the restore drill needs the private key.
echo "== S3 (Ceph RGW on loopback) + write-only encryption"
rgw_port=16700
scripts/sandbox/rgw-sandbox.sh start "$sandbox/rgw" "$rgw_port" 2>/dev/null
trap 'redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; redis-cli -p "$scratch_port" shutdown nosave >/dev/null 2>&1 || true; scripts/sandbox/pg-sandbox.sh stop "$sandbox/postgres"; scripts/sandbox/rgw-sandbox.sh stop "$sandbox/rgw"' EXIT
# shellcheck disable=SC1091
source "$sandbox/rgw/env"
rm -rf "$sandbox/keys"; mkdir -p "$sandbox/keys"
"$lifeboat" keygen --out "$sandbox/keys/team"
s3repo="s3://sandbox-$(date -u +%Y%m%d%H%M%S)/repo"
"$lifeboat" init --repo "$s3repo" --encrypt --public-key "$sandbox/keys/team.pub"
sed "s|^repository: ./repo|repository: $s3repo|" "$sandbox/policy.yaml" > "$sandbox/policy-s3.yaml"
s3name=$("$lifeboat" backup --policy "$sandbox/policy-s3.yaml" --schedule daily)
echo "== backed up $s3name to $s3repo with only the public key; verify (stored bytes, no key):"
"$lifeboat" verify --repo "$s3repo"
sed -e "s|^policy: ../.sandbox/policy.yaml|policy: ./policy-s3.yaml|" -e "s|^drill: sandbox-restore|drill: sandbox-restore-s3|" \
    -e "s|\.\./\.sandbox/drill/|./drill-s3/|" drills/sandbox-restore.yaml > "$sandbox/drill-s3.yaml"
echo "== restore drill from S3 with the private key"
"$lifeboat" drill --plan "$sandbox/drill-s3.yaml" --report-dir "$sandbox/reports" --private-key "$sandbox/keys/team.key"
