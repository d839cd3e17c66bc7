// The Kubernetes source's figures on the monitoring port (`control-plane --kube`): objects held,
// objects the loader refuses (left out of the config; the reasons are in the log and
// /debug/configz), watch failures and 410 relists, and whether every watch is healthy — so an
// alert sees an API server that went away or an object that is not served.
import type { MetricLine } from './xds-metrics.js';

/** What the metrics read (host/kube/kube-resource-source.ts). */
export interface KubeMetricsSource {
  metrics(): { objects: number; rejected: number; watchErrors: number; relists: number; healthy: boolean };
}

export function kubeMetricLines(src: KubeMetricsSource): MetricLine[] {
  const m = src.metrics();
  return [
    { name: 'wasmesh_kube_objects', help: 'Objects held from the Kubernetes API server (every watched kind).', type: 'gauge', value: m.objects },
    { name: 'wasmesh_kube_rejected_objects', help: 'Objects from the API server the loader refuses (not served; see the log and /debug/configz).', type: 'gauge', value: m.rejected },
    { name: 'wasmesh_kube_watch_errors_total', help: 'List or watch attempts that failed (the last known objects keep being served).', type: 'counter', value: m.watchErrors },
    { name: 'wasmesh_kube_relists_total', help: 'Lists repeated because a watch\'s resourceVersion was too old (410 Gone).', type: 'counter', value: m.relists },
    { name: 'wasmesh_kube_watches_healthy', help: '1 when every kind\'s watch is open (or its kind is not served), 0 while one is failing.', type: 'gauge', value: m.healthy ? 1 : 0 },
  ];
}
