#!/usr/bin/env bash
# What routing by original destination costs per TCP connection (docs/original-destination.md):
# in a throwaway pod/peer namespace pair, `-m TPROXY` capture and `wasmesh sidecar` under
# wasmesh-listen; the app makes N sequential connect + echo + close to (1) the peer directly as
# uid 1337 (not captured), (2) a REDIS service VIP through the sidecar (TCP proxy), (3) an
# unnamed port of the same service (sniffed as TCP on the first bytes). Needs root, iproute2,
# iptables, gcc, and `npm run build`. Usage: sudo bench/tproxy/run.sh [N]
set -euo pipefail
N="${1:-500}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELPER="$("$ROOT/scripts/build-listen-helper.sh")"
POD=wmb-pod-$$ PEER=wmb-peer-$$
DIR="$(mktemp -d)"
cleanup() { ip netns pids "$POD" 2>/dev/null | xargs -r kill -9; ip netns pids "$PEER" 2>/dev/null | xargs -r kill -9; ip netns del "$POD" 2>/dev/null || true; ip netns del "$PEER" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip netns add "$POD"; ip netns add "$PEER"
ip -n "$POD" link add wmbp$$ type veth peer name wmbq$$ netns "$PEER"
ip -n "$POD" addr add 198.18.0.2/24 dev wmbp$$; ip -n "$PEER" addr add 198.18.0.1/24 dev wmbq$$
for ns in "$POD" "$PEER"; do ip -n "$ns" link set lo up; done
ip -n "$POD" link set wmbp$$ up; ip -n "$PEER" link set wmbq$$ up
ip -n "$POD" route add default via 198.18.0.1
chmod 755 "$DIR"
cat >"$DIR/se.yaml" <<YAML
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  addresses: [198.18.0.50]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}, {number: 7001, name: unnamed, targetPort: 6379}]
  endpoints: [{address: 198.18.0.1}]
YAML
chmod 644 "$DIR/se.yaml"
# The fixture exits on stdin EOF: a fifo whose write end this script holds until it exits.
mkfifo "$DIR/hold"
ip netns exec "$PEER" node "$ROOT/test/sidecar/fixtures/tcp-servers.mjs" echo@198.18.0.1:6379 <"$DIR/hold" >/dev/null &
exec 4>"$DIR/hold"
for _ in $(seq 100); do ip netns exec "$PEER" bash -c 'echo > /dev/tcp/198.18.0.1/6379' 2>/dev/null && break; sleep 0.1; done
ip netns exec "$POD" bash "$ROOT/docker/iptables-init.sh" -m TPROXY -u 1337 -i '*' -b '' >/dev/null
ip netns exec "$POD" "$HELPER" --transparent --listen outbound=0.0.0.0:15001 --listen inbound=0.0.0.0:15006 --user 1337 -- \
  node "$ROOT/bin/wasmesh.js" sidecar -f "$DIR" --app-ports 5005 --access-log off 2>"$DIR/sidecar.log" &
for _ in $(seq 100); do ip netns exec "$POD" bash -c 'echo > /dev/tcp/127.0.0.1/15021' 2>/dev/null && break; sleep 0.1; done
CLIENT="$ROOT/bench/tproxy/connect-client.mjs"
ip netns exec "$POD" setpriv --reuid=1337 --regid=1337 --clear-groups -- node "$CLIENT" 198.18.0.1 6379 "$N" | sed 's/^/direct (uid 1337, not captured): /'
ip netns exec "$POD" node "$CLIENT" 198.18.0.50 6379 "$N" | sed 's/^/TPROXY, REDIS port (TCP proxy): /'
ip netns exec "$POD" node "$CLIENT" 198.18.0.50 7001 "$N" | sed 's/^/TPROXY, unnamed port (sniffed): /'
