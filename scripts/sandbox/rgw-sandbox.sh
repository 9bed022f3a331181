#!/usr/bin/env bash
# Starts (or stops) a throwaway single-node Ceph cluster (one mon, one bluestore OSD on a sparse
# file) with a RADOS Gateway on loopback: a real S3 engine for tests, the quick start and the
# benchmarks. Recipe and pitfalls: ../shared/CEPH-RGW.md. About 5 s to start.
#
# Usage: scripts/sandbox/rgw-sandbox.sh start DIR PORT      (S3 on http://127.0.0.1:PORT and
#                                                    https://localhost:PORT+10)
#        scripts/sandbox/rgw-sandbox.sh stop DIR
#        scripts/sandbox/rgw-sandbox.sh stop-gateway DIR     (RGW only: "the object store went away")
#        scripts/sandbox/rgw-sandbox.sh start-gateway DIR    (RGW again, after stop-gateway)
# On start, DIR/env holds AWS_ENDPOINT_URL, AWS_REGION and the sandbox user's test keys (fixed,
# throwaway, valid only for this sandbox) to `source`, and LIFEBOAT_RGW_HTTPS / LIFEBOAT_RGW_CA:
# the https endpoint (beast's ssl_endpoint, a certificate for localhost, 127.0.0.1 and the
# virtual host lb-virtual-hosted.localhost, from a CA made by scripts/sandbox/test-ca.sh in DIR/tls).
# A second user, lifeboat-host, owns no bucket: the append-only tests grant it access through a
# bucket policy (LIFEBOAT_RGW_HOST_* in DIR/env). The mon and OSD use PORT+1 … PORT+9.
set -euo pipefail
cmd=${1:-}; dir=$(realpath -m "${2:-}")
access=LIFEBOATTESTACCESS01
secret=lifeboat-sandbox-secret-not-for-production
host_access=LIFEBOATTESTHOSTKEY01
host_secret=lifeboat-sandbox-host-secret-not-for-production

pid_alive() {  # a zombie or a dead pid is not alive
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  local state; state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [ "$state" != Z ] && [ "$state" != X ]
}
stop_one() {
  local name=$1 pidfile="$dir/run/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile" 2>/dev/null || true)
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}
case "$cmd" in
  stop)
    for d in rgw osd mon; do stop_one "$d"; done   # one at a time, gateway first
    exit 0 ;;
  stop-gateway) stop_one rgw; exit 0 ;;
  start-gateway)
    export CEPH_CONF="$dir/ceph.conf"
    port=$(sed -n 's/^rgw frontends = beast endpoint=127.0.0.1:\([0-9]*\) .*$/\1/p' "$dir/ceph.conf")
    radosgw -c "$dir/ceph.conf" -n client.rgw.lb 2>/dev/null
    for _ in $(seq 1 300); do
      # the pid file is written once the gateway runs: copy it after it answers, or stop misses it
      curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && cp "$dir/run/client.rgw.lb.pid" "$dir/run/rgw.pid" && exit 0
      sleep 0.1
    done
    echo "rgw-sandbox: the gateway did not answer on port $port" >&2; exit 1 ;;
  start) ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | stop-gateway DIR" >&2; exit 2 ;;
esac
port=${3:?usage: $0 start DIR PORT}
for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool ceph; do
  command -v "$tool" >/dev/null || { echo "rgw-sandbox: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
done
monport=$((port + 1)); osdmin=$((port + 2)); osdmax=$((port + 9)); tlsport=$((port + 10))
rm -rf "$dir"; mkdir -p "$dir"/{run,log,mon,osd,crash}
chmod 0700 "$dir"
"$(dirname "$0")/test-ca.sh" "$dir/tls" rgw "DNS:localhost,DNS:lb-virtual-hosted.localhost,IP:127.0.0.1"
conf="$dir/ceph.conf"
fsid=$(cat /proc/sys/kernel/random/uuid)
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$monport]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = $osdmin
ms bind port max = $osdmax
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
crash dir = $dir/crash
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
paxos propose interval = 0.05
mon data avail warn = 2
mon data avail crit = 1
[mon]
mon data = $dir/mon/\$cluster-\$id
keyring = \$mon_data/keyring
[osd]
osd data = $dir/osd/\$cluster-\$id
keyring = \$osd_data/keyring
osd objectstore = bluestore
bluestore block path = $dir/osd-block-\$id
bluestore block create = true
bluestore block size = 10G
osd memory target = 896M
[client]
keyring = $dir/client.keyring
[client.rgw.lb]
keyring = $dir/rgw.keyring
rgw frontends = beast endpoint=127.0.0.1:$port ssl_endpoint=127.0.0.1:$tlsport ssl_certificate=$dir/tls/rgw.pem ssl_private_key=$dir/tls/rgw.key
rgw dns name = localhost
rgw data = $dir/rgw
EOF
export CEPH_CONF="$conf"
log() { echo "rgw-sandbox: $*" >&2; }
fail() { log "$*"; for f in "$dir"/log/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -5 "$f" >&2; }; done; "$0" stop "$dir" || true; exit 1; }

# Keys up front, all imported into the mon keyring.
ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/client.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/rgw.keyring" --gen-key -n client.rgw.lb --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
osdsecret=$(ceph-authtool --gen-print-key)
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/client.keyring" >/dev/null
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/rgw.keyring" >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport]" "$dir/monmap" >/dev/null
mkdir -p "$dir/mon/ceph-a"
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >/dev/null 2>&1 || fail "ceph-mon --mkfs failed"
ceph-mon -c "$conf" -i a 2>/dev/null || fail "ceph-mon did not start"
cp "$dir/run/mon.a.pid" "$dir/run/mon.pid" 2>/dev/null || true

uuid=$(cat /proc/sys/kernel/random/uuid)
echo "{\"cephx_secret\": \"$osdsecret\"}" >"$dir/osd-secret.json"
id=$(timeout 30 ceph -c "$conf" osd new "$uuid" -i "$dir/osd-secret.json" 2>/dev/null) || fail "ceph osd new failed"
mkdir -p "$dir/osd/ceph-$id"
ceph-authtool --create-keyring "$dir/osd/ceph-$id/keyring" --name "osd.$id" --add-key "$osdsecret" >/dev/null
ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --no-mon-config >"$dir/log/osd-mkfs.log" 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd -c "$conf" -i "$id" 2>/dev/null || fail "ceph-osd did not start"
cp "$dir/run/osd.$id.pid" "$dir/run/osd.pid" 2>/dev/null || true
for _ in $(seq 1 150); do
  if ceph -c "$conf" --admin-daemon "$dir/run/osd.$id.asok" status 2>/dev/null | grep -q '"state": "active"'; then break; fi
  sleep 0.1
done
ceph -c "$conf" --admin-daemon "$dir/run/osd.$id.asok" status 2>/dev/null | grep -q '"state": "active"' || fail "the OSD did not become active"

mkdir -p "$dir/rgw"
radosgw -c "$conf" -n client.rgw.lb 2>/dev/null || fail "radosgw did not start"
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null || fail "the gateway did not answer on port $port"
# radosgw writes its pid file once it runs: copied only now, so `stop` finds the gateway
for _ in $(seq 1 50); do [ -s "$dir/run/client.rgw.lb.pid" ] && break; sleep 0.1; done
cp "$dir/run/client.rgw.lb.pid" "$dir/run/rgw.pid" 2>/dev/null || fail "radosgw wrote no pid file"
curl -fsS --cacert "$dir/tls/ca.pem" -o /dev/null "https://localhost:$tlsport/" 2>/dev/null || fail "the gateway did not answer on https://localhost:$tlsport"
radosgw-admin -c "$conf" user create --uid lifeboat --display-name "Lifeboat sandbox" \
  --access-key "$access" --secret-key "$secret" >/dev/null 2>&1 || fail "radosgw-admin user create failed"
radosgw-admin -c "$conf" user create --uid lifeboat-host --display-name "Lifeboat sandbox backup host" \
  --access-key "$host_access" --secret-key "$host_secret" >/dev/null 2>&1 || fail "radosgw-admin user create (host) failed"
umask 077
cat >"$dir/env" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export LIFEBOAT_RGW_HTTPS=https://localhost:$tlsport
export LIFEBOAT_RGW_CA=$dir/tls/ca.pem
export LIFEBOAT_RGW_HOST_ACCESS_KEY_ID=$host_access
export LIFEBOAT_RGW_HOST_SECRET_ACCESS_KEY=$host_secret
export LIFEBOAT_RGW_HOST_PRINCIPAL=arn:aws:iam:::user/lifeboat-host
EOF
log "S3 on http://127.0.0.1:$port and https://localhost:$tlsport (source $dir/env)"
