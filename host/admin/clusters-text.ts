// Renders the data path's cluster status as Envoy's `/clusters` text: one
// `cluster::address:port::stat::value` line per endpoint fact, the form Envoy operators grep.
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import { formatHostPort } from '../common/host-port.js';

export function renderClusters(clusters: readonly ClusterStatus[]): string {
  let s = '';
  for (const c of clusters) {
    s += `${c.name}::cx_active::${c.connections}\n`;
    for (const e of c.endpoints) {
      const at = `${c.name}::${formatHostPort(e.address, e.port)}`;
      s += `${at}::cx_active::${e.connections.active}\n`;
      s += `${at}::cx_idle::${e.connections.idle}\n`;
      s += `${at}::cx_connecting::${e.connections.connecting}\n`;
      s += `${at}::rq_active::${e.activeRequests}\n`;
      // Envoy prints `healthy` or the failed checks, as the cluster manager names them.
      s += `${at}::health_flags::${e.healthFlags}\n`;
    }
  }
  return s;
}
