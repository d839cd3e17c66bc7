// What the admin API shows of a running runtime, wired once for the proxy and the sidecar: the
// manager's config dump, the data path's stats with the control shell's own, and the clusters
// as text and JSON. Each runtime says only where its listeners' stats and clusters come from.
import type { AdminSources } from '../admin/admin-server.js';
import { renderClusters } from '../admin/clusters-text.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import { controlStats } from '../control/control-stats.js';
import { sortRecords, type StatRecord } from '../telemetry/stats.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import type { IstioSnapshot } from '../telemetry/istio-metrics.js';

export interface AdminView {
  /** Every data-path listener's (and worker thread's) stats; the control shell's are added here. */
  stats(): StatRecord[];
  /** Every data-path listener's clusters. */
  clusters(): ClusterStatus[];
  /** The data-path threads (control.workers_live, control.worker_crashes); absent: not shown. */
  workers?(): { live: number; crashes: number };
  /** What /config_dump shows beyond the manager's dump (the sidecar's generated inbound config). */
  configDumpExtra?(): Record<string, unknown>;
  /** Istio's standard metrics of every listener and worker, merged; absent: none. */
  istio?(): IstioSnapshot;
}

export function adminSources(manager: ProxyConfigSource, ready: () => boolean, view: AdminView): AdminSources {
  return {
    ready,
    configDump: () => (view.configDumpExtra ? { ...manager.dump(), ...view.configDumpExtra() } : manager.dump()),
    stats: () => sortRecords([...view.stats(), ...controlStats(manager, view.workers?.())]),
    clustersText: () => renderClusters(view.clusters()),
    clustersJson: () => ({ clusters: view.clusters() }),
    ...(view.istio ? { istio: view.istio } : {}),
  };
}
