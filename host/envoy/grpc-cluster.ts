// A resolved cluster as the Cluster and ClusterLoadAssignment a proxyless gRPC client accepts
// (grpc-js-xds validates both and NACKs the whole response for one field it does not support):
// type EDS over ADS; lb_policy ROUND_ROBIN or RING_HASH, the only two it takes; max_requests, the
// only circuit-breaker threshold it reads; endpoints in one locality with a weight (a locality
// without one is skipped), IP addresses only, each address once.
import { isIP } from 'node:net';
import type { Cluster } from '../model/mesh.js';
import { DEFAULT_MAX_RING_SIZE, ISTIO_CIRCUIT_BREAKER_MAX } from '../model/istio-defaults.js';
import type { Obj } from './istio-resources.js';
import { formatHostPort } from '../common/host-port.js';

/** The cluster failing routes send to (Istio's name): EDS with no endpoints, so nothing answers. */
export const GRPC_BLACKHOLE_CLUSTER = 'BlackHoleCluster';

/** grpc-js refuses a ring larger than this (ring_hash_lb_config). */
const GRPC_MAX_RING_SIZE = 8_388_608;

const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

/** The lb fields: what grpc-js supports, with what each Istio policy becomes. */
function lbFields(c: Cluster, where: string, warnings: Set<string>): Obj {
  switch (c.lb) {
    case 'ROUND_ROBIN':
    // Istio's default (a DestinationRule without loadBalancer): grpc-js has no least-request
    // policy, and Istio's own proxyless generator gives gRPC round robin as well.
    case 'LEAST_REQUEST':
      return { lb_policy: 'ROUND_ROBIN' };
    case 'RANDOM':
      warnings.add(`${where}: loadBalancer RANDOM is not supported by gRPC clients; they use ROUND_ROBIN`);
      return { lb_policy: 'ROUND_ROBIN' };
    case 'PASSTHROUGH':
      warnings.add(`${where}: loadBalancer PASSTHROUGH (original destination) is not supported by gRPC clients; the cluster has no endpoints for them (calls fail UNAVAILABLE)`);
      return { lb_policy: 'ROUND_ROBIN' };
    case 'CONSISTENT_HASH': {
      const table = c.policy?.hash?.table;
      if (table === undefined) return { lb_policy: 'RING_HASH' };
      if (table.kind === 'maglev') {
        warnings.add(`${where}: Maglev is not supported by gRPC clients; they use a ring hash with default sizes (keys land on other endpoints than Envoy's)`);
        return { lb_policy: 'RING_HASH' };
      }
      const max = Math.min(table.maximumRingSize, GRPC_MAX_RING_SIZE);
      const min = Math.min(table.minimumRingSize, max);
      if (max !== table.maximumRingSize || min !== table.minimumRingSize) warnings.add(`${where}: ring size capped at ${GRPC_MAX_RING_SIZE} for gRPC clients`);
      const ring: Obj = { minimum_ring_size: min };
      if (max !== DEFAULT_MAX_RING_SIZE) ring.maximum_ring_size = max;
      return { lb_policy: 'RING_HASH', ring_hash_lb_config: ring };
    }
  }
}

/** The Cluster of `c` for gRPC clients; what they would not apply is said in `warnings`. */
export function grpcCluster(c: Cluster, warnings: Set<string>): Obj {
  const where = `cluster ${c.name}`;
  const out: Obj = {
    name: c.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: c.name },
    ...lbFields(c, where, warnings),
  };
  const maxRequests = c.policy?.limits.maxRequests ?? ISTIO_CIRCUIT_BREAKER_MAX;
  if (maxRequests < ISTIO_CIRCUIT_BREAKER_MAX) out.circuit_breakers = { thresholds: [{ max_requests: maxRequests }] };
  if (c.policy?.outlier) {
    // gRFC A50: gRPC ejects by success rate or failure percentage only, both of which Istio
    // turns off; the consecutive-error detectors Istio uses do not exist there.
    warnings.add(`${where}: outlierDetection is not applied by gRPC clients (they eject by success rate or failure percentage only, not consecutive errors)`);
  }
  return out;
}

/** The ClusterLoadAssignment of `c` for gRPC clients (IP endpoints only, each address once). */
export function grpcLoadAssignment(c: Cluster, warnings: Set<string>): Obj {
  const where = `cluster ${c.name}`;
  if (c.tls !== undefined && c.tls.mode !== 'DISABLE') {
    // No TLS is given to gRPC clients (xDS certificate providers are not served): a cluster that
    // must be reached over TLS gets no endpoints, so calls fail UNAVAILABLE instead of leaving in plaintext.
    warnings.add(`${where}: tls mode ${c.tls.mode} is not served to gRPC clients; they are given no endpoints (calls fail UNAVAILABLE, never plaintext)`);
    return { cluster_name: c.name, endpoints: [] };
  }
  const seen = new Set<string>();
  const lbEndpoints: Obj[] = [];
  for (const e of c.endpoints) {
    if (isIP(e.address) === 0) {
      // grpc-js NACKs a load assignment holding a name; it would resolve none itself.
      warnings.add(`${where}: endpoint ${e.address} is not an IP address; gRPC clients are not given it`);
      continue;
    }
    const key = formatHostPort(e.address, e.port);
    if (seen.has(key)) {
      warnings.add(`${where}: endpoint ${key} is listed twice; gRPC clients are given it once (they refuse duplicates)`);
      continue;
    }
    seen.add(key);
    const ep: Obj = { endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } } };
    if (e.weight > 1) ep.load_balancing_weight = Math.round(e.weight);
    lbEndpoints.push(ep);
  }
  // One locality, weighted: grpc-js skips a locality without load_balancing_weight.
  return { cluster_name: c.name, endpoints: lbEndpoints.length === 0 ? [] : [{ locality: {}, load_balancing_weight: 1, lb_endpoints: lbEndpoints }] };
}

/** The blackhole's Cluster and empty load assignment. */
export function grpcBlackhole(): { cluster: Obj; endpoints: Obj } {
  return {
    cluster: { name: GRPC_BLACKHOLE_CLUSTER, type: 'EDS', eds_cluster_config: { eds_config: ADS_SOURCE, service_name: GRPC_BLACKHOLE_CLUSTER }, lb_policy: 'ROUND_ROBIN' },
    endpoints: { cluster_name: GRPC_BLACKHOLE_CLUSTER, endpoints: [] },
  };
}
