#!/usr/bin/env python3
"""Regenerates testdata/retention/*.json with the real restic (Debian's 0.14) as the oracle.

For each time set it creates a fresh restic repository, backs up a tiny directory once per
timestamp (`restic backup --time`, under the set's TZ), then runs `restic forget --dry-run --json`
for every rule mix and records what restic keeps (with its reasons) and removes. The unit tests
run the same times and rules through Lifeboat's retention engine and require identical answers.
Usage: scripts/dev/retention-oracle.py   (needs restic; takes a few minutes)
"""
import json, os, random, subprocess, sys, tempfile, datetime as dt
from concurrent.futures import ThreadPoolExecutor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "retention")
rnd = random.Random(20261122)

def times_spread(n, start, days):
    base = dt.datetime.fromisoformat(start)
    picks = set()
    while len(picks) < n:
        picks.add(base + dt.timedelta(seconds=rnd.randrange(days * 86400)))
    return sorted(picks)

def times_cron_like(start, hours, every, jitter):
    base = dt.datetime.fromisoformat(start)
    out = []
    for h in range(0, hours, every):
        t = base + dt.timedelta(hours=h, seconds=rnd.randrange(jitter))
        if rnd.random() > 0.08: out.append(t)          # some runs are missed
        if rnd.random() < 0.05: out.append(t + dt.timedelta(minutes=rnd.randrange(1, 50)))  # retries
    return sorted(set(out))

def times_edges():
    out = set()
    for year in (2020, 2021, 2022, 2025, 2026):       # ISO weeks that straddle new year
        for day in (-4, -3, -2, -1, 0, 1, 2, 3, 4):
            t = dt.datetime(year, 1, 1) + dt.timedelta(days=day, hours=rnd.randrange(24), minutes=rnd.randrange(60))
            out.add(t)
    for m in range(1, 13):                             # month ends, leap day
        out.add(dt.datetime(2024, m, 1) - dt.timedelta(seconds=1))
        out.add(dt.datetime(2024, m, 1))
    out.add(dt.datetime(2024, 2, 29, 12))
    for h in range(0, 6):                              # several per hour
        out.add(dt.datetime(2026, 3, 8, h, 59, 59)); out.add(dt.datetime(2026, 3, 8, h, 0, 0)); out.add(dt.datetime(2026, 3, 8, h, 30))
    return sorted(out)

SETS = [
    ("spread-utc", "UTC", times_spread(320, "2024-06-01 00:00:00", 880)),
    ("cron-utc", "UTC", times_cron_like("2026-09-01 00:00:00", 24 * 16, 1, 300)),
    ("edges-utc", "UTC", times_edges()),
    ("spread-berlin", "Europe/Berlin", times_spread(260, "2025-01-10 00:00:00", 500)),
    ("edges-new-york", "America/New_York", times_edges()),
]

RULES = [
    ["--keep-last", "5"], ["--keep-last", "1"], ["--keep-hourly", "24"], ["--keep-daily", "7"],
    ["--keep-weekly", "4"], ["--keep-monthly", "12"], ["--keep-yearly", "3"],
    ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6"],
    ["--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "12"],
    ["--keep-last", "3", "--keep-daily", "3", "--keep-yearly", "10"],
    ["--keep-within", "2d"], ["--keep-within", "36h"], ["--keep-within", "1y2m"], ["--keep-within", "1m"],
    ["--keep-within", "3m10d5h"], ["--keep-within", "7d", "--keep-weekly", "8", "--keep-monthly", "24"],
    ["--keep-within", "24h", "--keep-last", "2"],
    ["--keep-hourly", "1000", "--keep-daily", "1000"], ["--keep-weekly", "53", "--keep-yearly", "1"],
    ["--keep-monthly", "2", "--keep-within", "10d", "--keep-hourly", "6"],
]

def restic(args, env, check=True):
    return subprocess.run(["restic"] + args, env=env, capture_output=True, text=True, check=check)

def make_set(name, tz, times):
    work = tempfile.mkdtemp(prefix="oracle-")
    env = dict(os.environ, TZ=tz, RESTIC_PASSWORD="oracle", RESTIC_REPOSITORY=f"{work}/repo", RESTIC_CACHE_DIR=f"{work}/cache")
    os.makedirs(f"{work}/src"); open(f"{work}/src/f", "w").write("x")
    restic(["init"], env)
    def one(t):
        restic(["backup", "--quiet", "--host", "oracle", "--time", t.strftime("%Y-%m-%d %H:%M:%S"), f"{work}/src"], env)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, times))
    cases = []
    for rule in RULES:
        out = restic(["forget", "--dry-run", "--json"] + rule, env).stdout
        groups = json.loads(out.strip().splitlines()[-1])
        assert len(groups) == 1, name
        g = groups[0]
        keep = [{"time": r["snapshot"]["time"], "reasons": r["matches"]} for r in g["reasons"]]
        remove = [s["time"] for s in (g.get("remove") or [])]
        cases.append({"args": rule, "keep": keep, "remove": remove})
    listed = json.loads(restic(["snapshots", "--json"], env).stdout)
    stored = sorted((s["time"] for s in listed), reverse=True)
    subprocess.run(["rm", "-rf", work])
    return {"name": name, "timezone": tz, "restic": restic(["version"], env).stdout.strip(), "times": stored, "cases": cases}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for name, tz, times in SETS:
        if only and name not in only: continue
        data = make_set(name, tz, times)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(data, f, indent=1)
        print(f"{name}: {len(data['times'])} snapshots, {len(data['cases'])} rule mixes", file=sys.stderr)
