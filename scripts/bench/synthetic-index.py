#!/usr/bin/env python3
"""Writes index files naming N synthetic chunks into a format-2 repository (docs/FORMAT.md,
"Format 2: index"), 16 chunks of 1 MiB per pack, in files of at most 65,536 chunks as Lifeboat
writes them. The packs do not exist: the repository is for measuring a backup's memory with a
large index (scripts/bench/bench-memory.sh), not for verify or prune.
Usage: synthetic-index.py REPO CHUNKS"""
import hashlib, os, struct, sys

repo, total = sys.argv[1], int(sys.argv[2])
per_file, per_pack = 65536, 16
os.makedirs(os.path.join(repo, "index"), exist_ok=True)
made = 0
while made < total:
    count = min(per_file, total - made)
    packs = (count + per_pack - 1) // per_pack
    out = bytearray(b"LBI2") + struct.pack("<I", packs)
    for p in range(packs):
        out += hashlib.sha256(b"synthetic pack %d %d" % (made, p)).digest() + struct.pack("<Q", per_pack * 700000)
    out += struct.pack("<I", count)
    for n in range(count):
        chunk_id = hashlib.sha256(b"synthetic chunk %d" % (made + n)).digest()
        out += chunk_id + struct.pack("<IBBQII", n // per_pack, 0, 1, (n % per_pack) * 700000, 700000, 1 << 20)
    out += hashlib.sha256(out).digest()
    name = hashlib.sha256(out).hexdigest()
    with open(os.path.join(repo, "index", name), "wb") as f:
        f.write(out)
    made += count
print(f"{made} chunks in {(total + per_file - 1) // per_file} index files")
