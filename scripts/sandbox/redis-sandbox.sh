#!/usr/bin/env bash
# Starts a throwaway redis-server on loopback for tests and the quick start.
# Usage: scripts/sandbox/redis-sandbox.sh DIR PORT [extra redis.conf lines…]
# Writes DIR/redis.conf (with enable-debug-command local), starts the server daemonized, and
# waits until it is ready (its log says so: this works for TLS-only and Unix-socket servers too,
# which extra lines such as "port 0", "tls-port P" make). Stop it with SHUTDOWN NOSAVE.
set -euo pipefail
dir=$(realpath -m "$1"); port=$2; shift 2
mkdir -p "$dir"
{
  echo "bind 127.0.0.1"
  echo "port $port"
  echo "dir $dir"
  echo "dbfilename dump.rdb"
  echo "save \"\""
  echo "logfile $dir/redis.log"
  echo "pidfile $dir/redis.pid"
  echo "enable-debug-command local"
  for line in "$@"; do echo "$line"; done
} > "$dir/redis.conf"
rm -f "$dir/redis.log"
(cd "$dir" && redis-server "$dir/redis.conf" --daemonize yes)
for _ in $(seq 200); do
  grep -qi "ready to accept connections" "$dir/redis.log" 2>/dev/null && exit 0
  sleep 0.05
done
echo "redis-sandbox: server on port $port did not start; see $dir/redis.log" >&2
exit 1
