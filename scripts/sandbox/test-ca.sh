#!/usr/bin/env bash
# Makes a throwaway certificate authority and certificates signed by it, for the TLS tests, the
# sandboxes and the benchmarks (EC P-256: fast to make, valid two days).
#
# Usage: scripts/sandbox/test-ca.sh DIR NAME SAN [client|expired]
#   DIR/ca.pem, DIR/ca.key   the CA (made on first use, reused after)
#   DIR/NAME.pem, NAME.key   a certificate for SAN (e.g. "DNS:localhost,IP:127.0.0.1"),
#                            for a server, or for a client with a fourth argument "client";
#                            "expired": a server certificate whose validity ended yesterday
# A different DIR is a different CA (the tests' "unknown CA").
set -euo pipefail
dir=${1:?usage: $0 DIR NAME SAN [client]}; name=${2:?}; san=${3:?}; kind=${4:-server}
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -days 2 -subj "/CN=Lifeboat test CA $(basename "$dir")" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
usage=serverAuth; [ "$kind" = client ] && usage=clientAuth
days=2; [ "$kind" = expired ] && days=-1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
  -subj "/CN=$name" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$san" "$usage" >"$dir/$name.ext"
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -out "$dir/$name.pem" \
  -days "$days" -extfile "$dir/$name.ext" 2>/dev/null
rm -f "$dir/$name.csr" "$dir/$name.ext"
chmod 0644 "$dir/ca.pem" "$dir/$name.pem"
chmod 0600 "$dir/$name.key"
