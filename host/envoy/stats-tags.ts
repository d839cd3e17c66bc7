// The bootstrap's stats_config.stats_tags that turn the `wasmesh_stats` filter's encoded metric
// names (`reporter=.=source;.;…;.;istio_requests_total`) into tagged stats, as Istio's bootstrap
// does for its stats plugin: each regex's first group is cut from the name, its second is the
// tag's value. `response_code` replaces Envoy's default extractor of that name, so the regex
// keeps the default's `_rq_<code>` alternative (Istio's combined form).
import type { Obj } from './istio-resources.js';

/** The labels of Istio's standard HTTP metrics, in its stats plugin's order. */
export const ISTIO_TAG_NAMES: readonly string[] = [
  'reporter',
  'source_workload', 'source_canonical_service', 'source_canonical_revision', 'source_workload_namespace', 'source_principal', 'source_app', 'source_version', 'source_cluster',
  'destination_workload', 'destination_canonical_service', 'destination_canonical_revision', 'destination_workload_namespace', 'destination_principal', 'destination_app', 'destination_version', 'destination_cluster',
  'destination_service', 'destination_service_name', 'destination_service_namespace',
  'request_protocol', 'response_code', 'grpc_response_status', 'response_flags', 'connection_security_policy',
];

/** The extractors of Istio's labels, then of `extra` labels (Telemetry API upserts of new labels). */
export function istioStatsTags(extra: readonly string[] = []): Obj[] {
  return [...ISTIO_TAG_NAMES, ...extra.filter((n) => !ISTIO_TAG_NAMES.includes(n))].map((name) => ({
    tag_name: name,
    regex: name === 'response_code' ? '(response_code=\\.=(.+?);\\.;)|_rq(_(\\d{3}))$' : `(${name}=\\.=(.*?);\\.;)`,
  }));
}
