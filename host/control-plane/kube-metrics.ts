// The Kubernetes source's figures on the monitoring port (`control-plane --kube`): objects held,
// objects the loader refuses (left out of the config; the reasons are in the log and
// /debug/configz), watch failures and 410 relists, and whether every watch is healthy — so an
// alert sees an API server that went away or an object that is not served. And what the control
// plane wrote: Events on refused objects, istio-ca-root-cert ConfigMaps, caBundle patches, and
// whether a writer is failing (403 without its RBAC, the API server away).
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

/** What the control plane's writers report (host/kube/rejection-events.ts, root-cert-publisher.ts, webhook-ca-bundle.ts). */
export interface KubeWriterFigures {
  eventsSent: number;
  eventsFailed: number;
  rootCertWrites: number;
  caBundlePatches: number;
  /** Writers whose last pass failed (retrying). */
  failing: number;
}

export function kubeWriterLines(w: KubeWriterFigures): MetricLine[] {
  return [
    { name: 'wasmesh_kube_rejection_events_total', help: 'Events recorded on Istio objects the loader refuses (reason Rejected).', type: 'counter', value: w.eventsSent },
    { name: 'wasmesh_kube_rejection_events_failed_total', help: 'Events that could not be recorded (logged instead).', type: 'counter', value: w.eventsFailed },
    { name: 'wasmesh_kube_root_cert_writes_total', help: 'istio-ca-root-cert ConfigMaps created or restored.', type: 'counter', value: w.rootCertWrites },
    { name: 'wasmesh_kube_ca_bundle_patches_total', help: 'Patches of the injector MutatingWebhookConfiguration\'s caBundle.', type: 'counter', value: w.caBundlePatches },
    { name: 'wasmesh_kube_writers_failing', help: 'Writers (root-cert ConfigMaps, caBundle) whose last attempt failed and is being retried.', type: 'gauge', value: w.failing },
  ];
}
