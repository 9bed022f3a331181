#!/usr/bin/env python3
"""Checks the README's drill report excerpt against a real report of the quick start's drill.

Usage: readme-drill-excerpt.py README.md REPORT.md

The excerpt is the fenced block after the line `<!-- drill report excerpt -->`. Each of its
lines must be a line of the real Markdown report once times, numbers and paths are masked
(they differ in every run) and the clauses that depend on timing are reduced to their kind
(whether the last PostgreSQL commit before the kill survived). The quick start runs this on
its own report, so the README shows what a run of its plan really prints.
"""
import re
import sys


def mask(line: str) -> str:
    line = re.sub(r"; \*\*acknowledged writes lost: \d+, those of the last [\d.]+ s\*\*|; no acknowledged write was lost", "; LOSS", line)
    line = re.sub(r" \([\d.]+ s after the kill: [^)]*\)", "", line)
    line = re.sub(r"\b[0-9a-f]{40}\b", "DIGEST", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", line)
    line = re.sub(r"\d{8}T\d{6}Z", "STAMP", line)
    line = re.sub(r"`/[^`]*`", "`PATH`", line)
    line = re.sub(r"\bon \S+$", "on HOST", line)
    line = re.sub(r"\d+(\.\d+)?", "N", line)
    return line.rstrip()


def main() -> int:
    readme, report = open(sys.argv[1]).read().splitlines(), open(sys.argv[2]).read().splitlines()
    try:
        start = readme.index("<!-- drill report excerpt -->") + 2
        end = readme.index("```", start)
    except ValueError:
        print("readme-drill-excerpt: the README has no fenced block after <!-- drill report excerpt -->", file=sys.stderr)
        return 1
    real = {mask(line) for line in report}
    missing = [line for line in readme[start:end] if line.strip() and line.strip() != "…" and mask(line) not in real]
    for line in missing:
        print(f"readme-drill-excerpt: the README shows a line this run's report does not have:\n  {line}", file=sys.stderr)
    if not missing:
        print(f"readme-drill-excerpt: the README's {end - start} lines match {sys.argv[2]}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
