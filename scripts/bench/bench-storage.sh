#!/usr/bin/env bash
# Repository backends and encryption, one run each on the same data (scripts/bench/bench-data.sh):
# Lifeboat backs up and restores to a local directory and to a real S3 engine (a throwaway Ceph
# RGW on loopback), plain, with a symmetric key and write-only to an X25519 public key; restic
# (always encrypted) does the same to disk and to the same RGW. Prints times and ratios:
# encryption overhead (target <= 10 % of backup time), RGW against disk, Lifeboat against restic.
# Then TLS: backup and restore to the same RGW over https against http, HTTPS_RUNS (3) of each
# alternating, medians (target <= 1.15x); and a 1 GiB multipart upload over https, counting the
# connections it opens (target <= uploads_in_flight + 1).
# Usage: scripts/bench/bench-storage.sh          (BENCH_MB=1024 by default, as scripts/bench.sh)
set -euo pipefail
source "$(dirname "$0")/bench-common.sh"
results="$work/storage-results"

rgwdir="$work/rgw"; rgwport=${BENCH_RGW_PORT:-17680}
scripts/sandbox/rgw-sandbox.sh stop "$rgwdir" >/dev/null 2>&1 || true
scripts/sandbox/rgw-sandbox.sh start "$rgwdir" "$rgwport" 2>/dev/null
trap 'scripts/sandbox/rgw-sandbox.sh stop "$rgwdir" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source "$rgwdir/env"   # AWS_ENDPOINT_URL and the sandbox's throwaway keys, for lifeboat and restic alike

: > "$results"

keys="$work/keys"; rm -rf "$keys"; mkdir -p "$keys"
head -c 32 /dev/urandom > "$keys/repo.key"; chmod 600 "$keys/repo.key"
"$lifeboat" keygen --out "$keys/team" >/dev/null
printf 'bench-password-not-secret\n' > "$work/restic-pass"; chmod 600 "$work/restic-pass"
export RESTIC_PASSWORD_FILE="$work/restic-pass"

run=$(date +%s)
for target in disk rgw; do
  for mode in plain symmetric public; do
    name="${target}_${mode}"
    if [[ $target == disk ]]; then repo="$work/st-$name"; rm -rf "$repo"; else repo="s3://bench-$run/$name"; fi
    case $mode in
      plain) "$lifeboat" init --repo "$repo" -q; read_key=() ;;
      symmetric) "$lifeboat" init --repo "$repo" --encrypt --key-file "$keys/repo.key" -q; read_key=(--key-file "$keys/repo.key") ;;
      public) "$lifeboat" init --repo "$repo" --encrypt --public-key "$keys/team.pub" -q; read_key=(--private-key "$keys/team.key") ;;
    esac
    printf 'repository: %s\nsources:\n  data: {type: files, path: %s}\n' "$repo" "$data" > "$work/st-policy.yaml"
    write_key=(); [[ $mode == symmetric ]] && write_key=(--key-file "$keys/repo.key")
    measure "lb_${name}_backup" "$lifeboat" backup --policy "$work/st-policy.yaml" -q "${write_key[@]}"
    rm -rf "$work/st-restore"
    measure "lb_${name}_restore" "$lifeboat" restore latest --repo "$repo" --to "$work/st-restore" -q "${read_key[@]}"
    diff -rq "$data" "$work/st-restore" >/dev/null || { echo "bench-storage: $name restore differs from the data" >&2; exit 1; }
    [[ $target == disk ]] && rm -rf "$repo"
  done
  if [[ $target == disk ]]; then rrepo="$work/st-restic"; rm -rf "$rrepo"; else rrepo="s3:$AWS_ENDPOINT_URL/bench-restic-$run/repo"; fi
  restic init --repo "$rrepo" -q >/dev/null
  measure "restic_${target}_backup" restic backup --repo "$rrepo" -q "$data"
  rm -rf "$work/st-restore"
  measure "restic_${target}_restore" restic restore latest --repo "$rrepo" -q --target "$work/st-restore"
  [[ $target == disk ]] && rm -rf "$rrepo"
done
rm -rf "$work/st-restore"

# TLS against plain, same gateway, same data: runs alternate so drift on a shared machine hits both.
tls_results="$work/storage-tls-results"; : > "$tls_results"
for i in $(seq 1 "${HTTPS_RUNS:-3}"); do
  for scheme in http https; do
    repo="s3://bench-tls-$run-$i-$scheme/repo"
    if [[ $scheme == https ]]; then endpoint=$LIFEBOAT_RGW_HTTPS; ca=", ca_file: $LIFEBOAT_RGW_CA"; else endpoint=$AWS_ENDPOINT_URL; ca=""; fi
    AWS_ENDPOINT_URL=$endpoint AWS_CA_BUNDLE=$LIFEBOAT_RGW_CA "$lifeboat" init --repo "$repo" -q
    printf 'repository: %s\ns3: {endpoint: %s%s}\nsources:\n  data: {type: files, path: %s}\n' \
      "$repo" "$endpoint" "$ca" "$data" > "$work/st-tls-policy.yaml"
    results=$tls_results measure "${scheme}_backup" "$lifeboat" backup --policy "$work/st-tls-policy.yaml" -q
    rm -rf "$work/st-restore"
    results=$tls_results measure "${scheme}_restore" "$lifeboat" restore latest --policy "$work/st-tls-policy.yaml" --to "$work/st-restore" -q
    diff -rq "$data" "$work/st-restore" >/dev/null || { echo "bench-storage: $scheme restore differs from the data" >&2; exit 1; }
  done
done
rm -rf "$work/st-restore"
head -c $((1 << 30)) /dev/urandom > "$work/upload-1g.bin"
upload=$(AWS_ENDPOINT_URL=$LIFEBOAT_RGW_HTTPS AWS_CA_BUNDLE=$LIFEBOAT_RGW_CA "$lifeboat" debug upload "$work/upload-1g.bin" --to "s3://bench-upload-$run/1g")
rm -f "$work/upload-1g.bin"

python3 - "$results" "$bytes" "$tls_results" "$upload" <<'PY'
import sys, json, os, statistics
tls_rows = {}
for l in open(sys.argv[3]):
    k, s, _ = l.split()
    tls_rows.setdefault(k, []).append(float(s))
upload = json.loads(sys.argv[4])
rows = {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[1])}
data = int(sys.argv[2])
print(f"repository backends and encryption: {data/2**20:.0f} MiB, one run each, {os.cpu_count()} cores, RGW on loopback")
print(f"{'run':<28}{'seconds':>9}{'peak RSS MiB':>14}{'MiB/s':>9}")
for k, (s, m) in rows.items():
    print(f"{k:<28}{s:>9.2f}{m/1024:>14.1f}{data/2**20/max(s,0.001):>9.0f}")
r = lambda a, b: rows[a][0] / max(rows[b][0], 0.001)
ratios = {}
for t in ("disk", "rgw"):
    for mode in ("symmetric", "public"):
        ratios[f"{t}_{mode}_backup_vs_plain"] = r(f"lb_{t}_{mode}_backup", f"lb_{t}_plain_backup")
        ratios[f"{t}_{mode}_restore_vs_plain"] = r(f"lb_{t}_{mode}_restore", f"lb_{t}_plain_restore")
    ratios[f"{t}_public_backup_vs_restic"] = r(f"lb_{t}_public_backup", f"restic_{t}_backup")
    ratios[f"{t}_public_restore_vs_restic"] = r(f"lb_{t}_public_restore", f"restic_{t}_restore")
ratios["rgw_vs_disk_plain_backup"] = r("lb_rgw_plain_backup", "lb_disk_plain_backup")
ratios["rgw_vs_disk_plain_restore"] = r("lb_rgw_plain_restore", "lb_disk_plain_restore")
print("ratios (< 1 is faster; encryption overhead target: *_backup_vs_plain <= 1.10):")
for k, v in ratios.items():
    print(f"  {k:<34}{v:.2f}")
med = {k: statistics.median(v) for k, v in tls_rows.items()}
print(f"TLS on the same gateway ({len(tls_rows['https_backup'])} runs each, alternating; medians):")
for k in ("http_backup", "https_backup", "http_restore", "https_restore"):
    print(f"  {k:<16}{med[k]:>8.2f} s   runs: {' '.join(f'{x:.2f}' for x in tls_rows[k])}")
ratios["https_vs_http_backup"] = med["https_backup"] / max(med["http_backup"], 0.001)
ratios["https_vs_http_restore"] = med["https_restore"] / max(med["http_restore"], 0.001)
print(f"  https/http backup {ratios['https_vs_http_backup']:.2f}, restore {ratios['https_vs_http_restore']:.2f} (target <= 1.15)")
print(f"1 GiB multipart upload over https: {upload['seconds']:.2f} s, {upload['connections']} connections "
      f"(uploads_in_flight {upload['uploads_in_flight']}: target <= {upload['uploads_in_flight'] + 1})")
json.dump({"data_bytes": data, "runs": rows, "ratios": ratios, "tls_runs": tls_rows, "upload_1g": upload},
          open(sys.argv[1] + ".json", "w"), indent=2)
PY
