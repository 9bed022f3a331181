#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL 15 cluster on loopback for tests, the quick start and
# the benchmarks. PostgreSQL refuses to run as root: as root, the cluster is owned by and runs as
# the `postgres` user (from the postgresql-15 package), or $PG_SANDBOX_USER.
#
# Usage: scripts/sandbox/pg-sandbox.sh start DIR PORT [extra postgresql.conf lines…]
#        scripts/sandbox/pg-sandbox.sh stop DIR
# DIR/data is the data directory, DIR is also the socket directory, DIR/server.log the log.
# Authentication is `trust` on loopback and the private socket only (initdb -A trust).
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
user=${PG_SANDBOX_USER:-postgres}
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}
cmd=$1; dir=$(realpath -m "$2")
case "$cmd" in
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true; fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start DIR PORT [conf lines…] | stop DIR" >&2; exit 2 ;;
esac
port=$3; shift 3
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown "$user:" "$dir"; fi
chmod 0700 "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-instructions -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "wal_level = replica"
    echo "max_wal_senders = 4"
    echo "shared_buffers = 128MB"
    echo "max_wal_size = 1GB"
    for line in "$@"; do echo "$line"; done
  } | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
fi
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
  || { echo "pg-sandbox: server on port $port did not start; see $dir/server.log" >&2; tail -5 "$dir/server.log" >&2; exit 1; }
