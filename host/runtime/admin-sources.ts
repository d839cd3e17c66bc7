// What the admin API shows of a running runtime, wired once for the proxy and the sidecar: the
// manager's config dump, the data path's stats with the control shell's own, and the clusters
// as text and JSON. Each runtime says only where its listeners' stats and clusters come from.
import { envoyClustersJson } from '../admin/clusters-json.js';
import type { AdminSources } from '../admin/admin-server.js';
import { renderClusters } from '../admin/clusters-text.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import { controlStats } from '../control/control-stats.js';
import { sortRecords, type StatRecord } from '../telemetry/stats.js';
import type { ClusterStatus } from '../telemetry/cluster-status.js';
import type { IstioSnapshot } from '../telemetry/istio-metrics.js';
import { IstioCounterBaseline } from '../telemetry/istio-counter-baseline.js';
import type { EnvoyConfigView, EnvoyListenPlan } from './envoy-config-view.js';
import type { LogLevels } from '../common/log-levels.js';

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
  /** Where the listeners are, for the Envoy-shaped /config_dump and /listeners; absent: no listener. */
  envoyPlan?(): EnvoyListenPlan;
}

/** What the admin API shows beyond the config and stats: the Envoy view, server info, loggers, quit. */
export interface AdminExtras {
  envoy: EnvoyConfigView;
  serverInfo(): unknown;
  logLevels: LogLevels;
  quit(): void;
}

export function adminSources(manager: ProxyConfigSource, ready: () => boolean, view: AdminView, extras: AdminExtras): AdminSources {
  const counters = new CounterBaseline();
  const istioCounters = new IstioCounterBaseline();
  return {
    ready,
    configDump: () => (view.configDumpExtra ? { ...manager.dump(), ...view.configDumpExtra() } : manager.dump()),
    envoyConfigDump: (includeEds) => extras.envoy.dump(includeEds),
    serverInfo: () => extras.serverInfo(),
    listeners: () => extras.envoy.listeners(),
    logLevels: extras.logLevels,
    resetCounters: () => {
      counters.reset(sortRecords([...view.stats(), ...controlStats(manager, view.workers?.())]));
      if (view.istio) istioCounters.reset(view.istio());
    },
    quit: () => extras.quit(),
    stats: () => counters.apply(sortRecords([...view.stats(), ...controlStats(manager, view.workers?.())])),
    clustersText: () => renderClusters(view.clusters()),
    clustersJson: () => ({ clusters: view.clusters() }),
    envoyClustersJson: () => envoyClustersJson(view.clusters()),
    ...(view.istio ? { istio: () => istioCounters.apply(view.istio!()), istioOverrides: () => manager.current?.mesh.metricsOverrides } : {}),
  };
}

/**
 * Envoy's /reset_counters for every reader of the admin API: the counters' values at the reset
 * are remembered and subtracted from what /stats shows afterwards. The counters themselves live
 * in each data-path thread (and the core); reading them through a baseline resets them all at
 * once, worker threads included, without touching the data path. Gauges are not reset (Envoy's
 * rule); a counter that restarted below its baseline (a new cluster scope) shows its own value.
 */
class CounterBaseline {
  #base = new Map<string, number>();

  reset(records: readonly StatRecord[]): void {
    this.#base = new Map(records.filter((r) => r.kind === 'counter').map((r) => [r.name, r.value]));
  }

  apply(records: StatRecord[]): StatRecord[] {
    if (this.#base.size === 0) return records;
    return records.map((r) => {
      const base = r.kind === 'counter' ? this.#base.get(r.name) : undefined;
      return base === undefined || r.value < base ? r : { ...r, value: r.value - base };
    });
  }
}
