// GET /clusters?format=json in Envoy's shape (envoy.admin.v3.Clusters, proto3 JSON with the
// .proto names as Envoy's admin writes it): per cluster `name`, `observability_name` and
// `host_statuses`; per host its `address`, the stats wasmesh keeps for it (gauges cx_active and
// rq_active; a zero value left out, as proto3 JSON leaves it), `health_status` with
// `eds_health_status` HEALTHY (wasmesh's endpoints come without EDS health) and
// `failed_outlier_check` while outlier detection ejects it — what `istioctl proxy-config
// endpoints` reads for its STATUS and OUTLIER CHECK columns — its `weight` and an empty locality.
import type { ClusterStatus, EndpointStatus } from '../telemetry/cluster-status.js';

type Json = Record<string, unknown>;

function gauge(name: string, value: number): Json {
  return value === 0 ? { type: 'GAUGE', name } : { type: 'GAUGE', name, value: String(value) };
}

function hostStatus(e: EndpointStatus): Json {
  const health: Json = { eds_health_status: 'HEALTHY' };
  if (!e.healthy) health.failed_outlier_check = true;
  return {
    address: { socket_address: { address: e.address, port_value: e.port } },
    stats: [gauge('cx_active', e.connections.active), gauge('rq_active', e.activeRequests)],
    health_status: health,
    // Envoy's weights are ≥ 1 (Istio's unset 0 weight is 1).
    weight: Math.max(1, Math.round(e.weight)),
    locality: {},
  };
}

export function envoyClustersJson(clusters: readonly ClusterStatus[]): Json {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      observability_name: c.name,
      ...(c.endpoints.length > 0 && { host_statuses: c.endpoints.map(hostStatus) }),
    })),
  };
}
