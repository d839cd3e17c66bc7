// Istio's names for the outbound catch-all of a sidecar (pilot util.PassthroughCluster,
// util.BlackHoleCluster, and the routes util.Passthrough / util.BlackHole): shared by the
// translation that builds them and the generators that must recognise them (Envoy, gRPC).

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const ALLOW_ANY_ROUTE = 'allow_any';
export const BLOCK_ALL_ROUTE = 'block_all';

/** True for the catch-all clusters, which no service defines. */
export function isCatchAllCluster(name: string): boolean {
  return name === PASSTHROUGH_CLUSTER || name === BLACKHOLE_CLUSTER;
}

/**
 * Istio's inbound catch-all (pilot util.InboundPassthroughCluster, one cluster for both
 * families since Istio 1.17): a connection to a port the workload does not declare goes to
 * its original destination, from 127.0.0.6 for IPv4 and ::6 for IPv6 (Istio's
 * InboundPassthroughBindIpv4 and InboundPassthroughBindIpv6, which the capture rules let through
 * so it is not captured again; ::6 is put on lo by `iptables-init.sh --ipv6`, as Istio's init does).
 */
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const INBOUND_PASSTHROUGH_BIND_IPV4 = '127.0.0.6';
export const INBOUND_PASSTHROUGH_BIND_IPV6 = '::6';
