#!/usr/bin/env bash
# Generates the benchmark data set once: DIR gets SIZE_MB of 60% log-like text, 30% random
# blobs, 10% small config files (deterministic text, random blobs).
# Usage: scripts/bench/bench-data.sh DIR SIZE_MB
set -euo pipefail
data=$1; size_mb=$2
if [[ ! -f "$data/.complete-$size_mb" ]]; then
  rm -rf "$data"; mkdir -p "$data"
  echo "bench: generating ${size_mb} MB of data (60% log-like text, 30% random, 10% small files)" >&2
  python3 - "$data" "$size_mb" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
rnd = random.Random(42)
paths = ["/api/v1/search", "/api/v1/embed", "/health", "/api/v1/chat", "/metrics"]
def text_file(path, size):
    out, n, i = [], 0, 0
    while n < size:
        h = rnd.randbytes(64).hex()
        line = (f"2026-11-22T02:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z INFO request_id={h[:32]} "
                f"user={rnd.randrange(100000)} path={paths[i % 5]} status={200 if i % 17 else 500} "
                f"ms={rnd.randrange(2000)} trace={h[32:64]}\n")
        out.append(line); n += len(line); i += 1
    with open(path, "w") as f: f.write("".join(out))
os.makedirs(f"{root}/logs"); os.makedirs(f"{root}/blobs"); os.makedirs(f"{root}/config")
made, k = 0, 0
while made < total * 0.6:
    s = rnd.randrange(2, 9) * 1024 * 1024; text_file(f"{root}/logs/app-{k:04d}.log", s); made += s; k += 1
k = 0
while made < total * 0.9:
    s = rnd.randrange(1, 33) * 1024 * 1024
    with open(f"{root}/blobs/blob-{k:04d}.bin", "wb") as f: f.write(os.urandom(s))
    made += s; k += 1
k = 0
while made < total:
    d = f"{root}/config/d{k // 100:03d}"; os.makedirs(d, exist_ok=True)
    s = rnd.randrange(4, 65) * 1024
    if k % 2: text_file(f"{d}/f{k:05d}.conf", s)
    else:
        with open(f"{d}/f{k:05d}.bin", "wb") as f: f.write(os.urandom(s))
    made += s; k += 1
PY
  touch "$data/.complete-$size_mb"
fi

