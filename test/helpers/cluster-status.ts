// Whole ClusterStatus / EndpointStatus values (host/telemetry/cluster-status.ts) for the admin
// renderers' tests: every field set to what an idle cluster manager reports, so that a field
// added to the snapshot is added here once and the renderers' tests keep type-checking.
import type { ClusterStatus, EndpointStatus } from '../../host/telemetry/cluster-status.js';

/** An endpoint as the cluster manager reports it: ejected once when unhealthy; `more` overrides. */
export const endpointStatus = (address: string, port: number, healthy: boolean, more: Partial<EndpointStatus> = {}): EndpointStatus => ({
  address,
  port,
  healthy,
  healthFlags: healthy ? 'healthy' : '/failed_outlier_check',
  weight: 0,
  activeRequests: 0,
  connections: { active: 0, idle: 0, connecting: 0 },
  timesEjected: healthy ? 0 : 1,
  consecutive5xx: 0,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 0,
  ...more,
});

/** A round-robin cluster with outlier detection, nothing pending; `more` overrides. */
export const clusterStatus = (name: string, endpoints: EndpointStatus[], more: Partial<ClusterStatus> = {}): ClusterStatus => ({
  name,
  lb: 'ROUND_ROBIN',
  connections: 0,
  pendingRequests: 0,
  outlierDetection: true,
  ejectionsActive: 0,
  panic: false,
  endpoints,
  ...more,
});
