#!/usr/bin/env bash
# Starts a throwaway redis-server on loopback for tests and the quick start.
# Usage: scripts/redis-sandbox.sh DIR PORT [extra redis.conf lines…]
# Writes DIR/redis.conf (with enable-debug-command local), starts the server daemonized, and
# waits until it answers PING. Stop it with: redis-cli -p PORT shutdown nosave
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
(cd "$dir" && redis-server "$dir/redis.conf" --daemonize yes)
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && exit 0
  sleep 0.05
done
echo "redis-sandbox: server on port $port did not start; see $dir/redis.log" >&2
exit 1
