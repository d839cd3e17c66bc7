// A sidecar's inbound catch-all, as the Envoy plane builds it (host/envoy/inbound-passthrough.ts)
// and Istio does: a captured connection to a port the workload does not declare (not an app
// port) is passed as TCP to where it was going — the accepted socket's local address and port
// under TPROXY — through InboundPassthroughCluster (ORIGINAL_DST), the upstream side bound to
// 127.0.0.6 for IPv4 so the app sees Istio's passthrough source (and the capture rules let it
// through). Closed instead when an AuthorizationPolicy selects the workload (Istio would run its
// RBAC network filter there; the Envoy plane closes too) and under STRICT mTLS (the Envoy plane
// terminates the mesh's TLS first; this TCP path cannot yet). This file holds the cluster and
// the decision; inbound-capture.ts applies it per connection.
import { isIP } from 'node:net';
import type { Cluster, MeshConfig } from '../model/mesh.js';
import { INBOUND_PASSTHROUGH_BIND_IPV4, INBOUND_PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import type { TcpTarget } from '../server/tcp-proxy-server.js';

/** InboundPassthroughCluster: no endpoints, each connection's taken from its original destination (an `ip:port`). */
export function inboundPassthroughCluster(): Cluster {
  // No policy: Istio's defaults (10 s connect timeout); no DestinationRule names this cluster.
  return { name: INBOUND_PASSTHROUGH_CLUSTER, host: INBOUND_PASSTHROUGH_CLUSTER, port: 0, subset: null, endpoints: [], lb: 'PASSTHROUGH' };
}

/** `inbound` with InboundPassthroughCluster added (once), for the inbound byte proxy. */
export function withInboundPassthrough(inbound: MeshConfig): MeshConfig {
  if (inbound.clusters.some((c) => c.name === INBOUND_PASSTHROUGH_CLUSTER)) return inbound;
  return { ...inbound, clusters: [...inbound.clusters, inboundPassthroughCluster()] };
}

/** Why undeclared ports are closed under `mesh` (null: passed through). */
export function inboundPassthroughRefusal(mesh: MeshConfig): string | null {
  const policies = mesh.authorization ?? [];
  if (policies.length > 0) return `AuthorizationPolicy ${policies[0]!.name} selects this workload (Istio would enforce it on the passthrough; not done yet)`;
  if (mesh.inboundMtlsMode === 'STRICT') return 'PeerAuthentication STRICT requires mTLS, which the inbound TCP passthrough cannot terminate yet';
  return null;
}

/** Where a connection accepted at `address:port` (its original destination) is passed. */
export function inboundPassthroughTarget(address: string, port: number): TcpTarget {
  return {
    address,
    port,
    service: null,
    passthroughCluster: INBOUND_PASSTHROUGH_CLUSTER,
    // Istio binds ::6 for IPv6 (InboundPassthroughBindIpv6), which needs that address on lo: not bound here.
    ...(isIP(address) === 4 ? { bindAddress: INBOUND_PASSTHROUGH_BIND_IPV4 } : {}),
  };
}
