#!/usr/bin/env bash
# Starts (or stops) a throwaway Chroma server (chromadb from PyPI, in the venv
# scripts/sandbox/chroma-venv.sh makes) on loopback, for tests, the quick start and drills.
# Usage: scripts/sandbox/chroma-sandbox.sh start DIR PORT [PERSIST_DIR]   (persist directory DIR/data unless
#                                                                  given; log DIR/chroma.log)
#        scripts/sandbox/chroma-sandbox.sh stop DIR          (SIGTERM, waits until it has exited)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=$1; dir=$(realpath -m "$2")
case "$cmd" in
  stop)
    if [[ -f "$dir/chroma.pid" ]]; then
      pid=$(cat "$dir/chroma.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/chroma.pid"
    fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
port=$3
persist=$(realpath -m "${4:-$dir/data}")
venv=$("$here/chroma-venv.sh")
mkdir -p "$dir"
export ANONYMIZED_TELEMETRY=False
nohup "$venv/bin/chroma" run --path "$persist" --host 127.0.0.1 --port "$port" >"$dir/chroma.log" 2>&1 </dev/null &
echo $! > "$dir/chroma.pid"
for _ in $(seq 600); do
  if curl -sf "http://127.0.0.1:$port/api/v2/heartbeat" >/dev/null 2>&1; then exit 0; fi
  kill -0 "$(cat "$dir/chroma.pid")" 2>/dev/null || break
  sleep 0.1
done
echo "chroma-sandbox: server on port $port did not start; see $dir/chroma.log" >&2
tail -5 "$dir/chroma.log" >&2
exit 1
