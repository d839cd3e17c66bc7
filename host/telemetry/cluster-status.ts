// What GET /clusters shows of one cluster and its endpoints: a snapshot the cluster manager
// (host/upstream) takes and the admin API renders, declared below both so that the admin API
// reads it without depending on the data path.
import type { LbPolicy } from '../model/mesh.js';

/** An endpoint's status for GET /clusters. */
export interface EndpointStatus {
  address: string;
  port: number;
  /** False while ejected (also during panic, when the balancer uses it anyway). */
  healthy: boolean;
  /** Envoy's /clusters health_flags: `healthy` or `/failed_outlier_check`. */
  healthFlags: string;
  weight: number;
  /** Requests using or waiting for this endpoint (survives reloads). */
  activeRequests: number;
  connections: { active: number; idle: number; connecting: number };
  /** Times ejected since the endpoint joined the cluster. */
  timesEjected: number;
  consecutive5xx: number;
  consecutiveGatewayErrors: number;
  consecutiveLocalOriginFailures: number;
}

export interface ClusterStatus {
  name: string;
  lb: LbPolicy;
  /** Connections open or opening across endpoints. */
  connections: number;
  /** Requests waiting for a connection (circuit breaker). */
  pendingRequests: number;
  outlierDetection: boolean;
  ejectionsActive: number;
  /** Healthy share below minHealthPercent: balancers use every endpoint. */
  panic: boolean;
  endpoints: EndpointStatus[];
}
