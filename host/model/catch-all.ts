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
