#!/usr/bin/env python3
"""Writes a tree of 20,000 small config files (40 directories of 500) for the benchmarks:
each file `key_N = V` repeated LINES times (8 lines: ~150 bytes; 120 lines: ~2.3 KiB).
Usage: config-tree.py DIR LINES"""
import os, sys

root, lines = sys.argv[1], int(sys.argv[2])
for n in range(20000):
    d = f"{root}/d{n // 500:03}"
    if n % 500 == 0: os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{n % 500:03}.conf", "w") as f: f.write(f"key_{n} = {n * 7919 % 104729}\n" * lines)
