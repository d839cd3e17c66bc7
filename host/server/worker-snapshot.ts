// Merges the admin figures of several data-path workers into one view, as Envoy shows one set
// of stats for all its worker threads: counters and gauges are summed by name; a cluster's
// endpoints are summed per endpoint, unhealthy when any worker has ejected them (outlier
// detection runs per worker in wasmesh; Envoy runs it once per cluster on its main thread).
import type { ClusterStatus, EndpointStatus } from '../telemetry/cluster-status.js';
import { sortRecords, type StatRecord } from '../telemetry/stats.js';

/** Sums the workers' stats by name (used when any worker's is); sorted by name, as /stats prints them. */
export function mergeStats(lists: ReadonlyArray<readonly StatRecord[]>): StatRecord[] {
  const byName = new Map<string, StatRecord>();
  for (const list of lists) {
    for (const r of list) {
      const have = byName.get(r.name);
      if (have) {
        have.value += r.value;
        have.used ||= r.used;
      } else {
        byName.set(r.name, { ...r, tags: r.tags.map((t) => [t[0], t[1]]) });
      }
    }
  }
  return sortRecords([...byName.values()]);
}

function mergeEndpoint(into: EndpointStatus, e: EndpointStatus): void {
  if (into.healthy && !e.healthy) {
    into.healthy = false;
    into.healthFlags = e.healthFlags;
  }
  into.activeRequests += e.activeRequests;
  into.connections = {
    active: into.connections.active + e.connections.active,
    idle: into.connections.idle + e.connections.idle,
    connecting: into.connections.connecting + e.connections.connecting,
  };
  into.timesEjected += e.timesEjected;
  into.consecutive5xx = Math.max(into.consecutive5xx, e.consecutive5xx);
  into.consecutiveGatewayErrors = Math.max(into.consecutiveGatewayErrors, e.consecutiveGatewayErrors);
  into.consecutiveLocalOriginFailures = Math.max(into.consecutiveLocalOriginFailures, e.consecutiveLocalOriginFailures);
}

/** One ClusterStatus per cluster name, in the first list's order (then new names as they come). */
export function mergeClusters(lists: ReadonlyArray<readonly ClusterStatus[]>): ClusterStatus[] {
  const out = new Map<string, ClusterStatus>();
  for (const list of lists) {
    for (const c of list) {
      const have = out.get(c.name);
      if (!have) {
        out.set(c.name, structuredClone(c));
        continue;
      }
      have.connections += c.connections;
      have.pendingRequests += c.pendingRequests;
      have.ejectionsActive += c.ejectionsActive;
      have.panic ||= c.panic;
      for (const e of c.endpoints) {
        const mine = have.endpoints.find((x) => x.address === e.address && x.port === e.port);
        if (mine) mergeEndpoint(mine, e);
        else have.endpoints.push(structuredClone(e));
      }
    }
  }
  return [...out.values()];
}
