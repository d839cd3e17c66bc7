#!/usr/bin/env bash
# HTTPS vs plaintext through one wasmesh ingress gateway, side by side in one run: one
# `wasmesh proxy --gateway` serving Gateway port 80 (plaintext) and 443 (SIMPLE, ECDSA P-256,
# credentialName from --credentials-dir) via --port-map, a fortio upstream, and wrk
# (-t1 -c32 -d5s) alternating plaintext and HTTPS rounds. Prints requests/s and latency per round.
# Usage: bench/gateway-tls/run.sh [rounds=2]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
WRK=${WRK:-$(command -v bench/.bin/wrk || command -v wrk)}
FORTIO=${FORTIO:-bench/.bin/fortio}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
mkdir -p "$T/creds/bench-cert"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench.example.com \
  -addext subjectAltName=DNS:bench.example.com -keyout "$T/creds/bench-cert/tls.key" -out "$T/creds/bench-cert/tls.crt" 2>/dev/null
cat > "$T/mesh.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec:
  hosts: [web]
  ports: [{number: 5005, name: http, protocol: HTTP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: 18180}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-cert}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http: [{route: [{destination: {host: web, port: {number: 5005}}}]}]
YAML
"$FORTIO" server -http-port 127.0.0.1:18180 -grpc-port disabled -redirect-port disabled > "$T/fortio.log" 2>&1 &
node bin/wasmesh.js proxy --gateway gw -f "$T/mesh.yaml" --credentials-dir "$T/creds" \
  --port-map 443=127.0.0.1:18443,80=127.0.0.1:18081 --admin 127.0.0.1:18000 --access-log off > "$T/proxy.log" 2>&1 &
PROXY=$!
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:18081/ && curl -skf -o /dev/null https://127.0.0.1:18443/ && break; sleep 0.1; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for mode in plaintext https; do
    url=http://127.0.0.1:18081/; [ "$mode" = https ] && url=https://127.0.0.1:18443/
    before=$(awk '{print $14+$15}' /proc/$PROXY/stat)
    out=$("$WRK" -t1 -c32 -d5s --latency "$url")
    after=$(awk '{print $14+$15}' /proc/$PROXY/stat)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
    ticks=$((after - before))
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "round $r $mode: ${rps} req/s, p50 ${p50}, p99 ${p99}, proxy CPU $(awk -v t="$ticks" -v n="$reqs" 'BEGIN {printf "%.1f", t*10000/n}') us/request ${errs}"
  done
done
