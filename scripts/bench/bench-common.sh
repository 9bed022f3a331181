# Sourced by the benchmark scripts: the release build, the work directory, the shared data set
# (scripts/bench/bench-data.sh, BENCH_MB MiB) and `measure NAME CMD…`, which appends
# "NAME seconds peak_rss_kb" to $results.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
scripts/setup.sh bench
swift build -c release --static-swift-stdlib >/dev/null
lifeboat="$PWD/.build/release/lifeboat"
work="$PWD/bench-work"
data="$work/data"
size_mb="${BENCH_MB:-1024}"
mkdir -p "$work"
scripts/bench/bench-data.sh "$data" "$size_mb"
bytes=$(du -sb --exclude=.complete-* "$data" | cut -f1)
cat "$data"/*/* "$data"/config/*/* >/dev/null 2>&1 || true   # warm the page cache for every run alike

measure() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name" || { cat "$work/err.$name" >&2; exit 1; }
  echo "$name $(cat "$work/time.$name")" >> "$results"
}
