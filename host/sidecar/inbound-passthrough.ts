// A sidecar's inbound catch-all, as the Envoy plane builds it (host/envoy/inbound-passthrough.ts)
// and Istio does: a captured connection to a port the workload does not declare (not an app
// port) is passed as TCP to where it was going — the accepted socket's local address and port
// under TPROXY — through InboundPassthroughCluster (ORIGINAL_DST), the upstream side bound to
// 127.0.0.6 for IPv4 and ::6 for IPv6 so the app sees Istio's passthrough source (and the capture
// rules let it through). The mesh mTLS is terminated first as PeerAuthentication says (inbound-tcp-transport.ts)
// and AuthorizationPolicy enforced by the byte proxy's RBAC network filter, as Istio's passthrough
// chains do. This file holds the cluster and the target; inbound-capture.ts applies them per connection.
import { isIP } from 'node:net';
import type { Cluster, MeshConfig } from '../model/mesh.js';
import { INBOUND_PASSTHROUGH_BIND_IPV4, INBOUND_PASSTHROUGH_BIND_IPV6, INBOUND_PASSTHROUGH_CLUSTER } from '../model/catch-all.js';
import { canonicalAddress } from '../common/host-port.js';
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

/**
 * Where a connection accepted at `address:port` (its original destination) is passed: an
 * IPv4-mapped address (a dual-stack `[::]` listener's IPv4 connection) as IPv4, from 127.0.0.6;
 * IPv6 from ::6.
 */
export function inboundPassthroughTarget(accepted: string, port: number): TcpTarget {
  const address = canonicalAddress(accepted);
  const family = isIP(address);
  return {
    address,
    port,
    service: null,
    passthroughCluster: INBOUND_PASSTHROUGH_CLUSTER,
    ...(family === 4 ? { bindAddress: INBOUND_PASSTHROUGH_BIND_IPV4 } : family === 6 ? { bindAddress: INBOUND_PASSTHROUGH_BIND_IPV6 } : {}),
  };
}
