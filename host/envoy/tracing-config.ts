// The proxy's tracing (MeshConfig.tracing: provider, sampling, custom tags) as stock Envoy's HTTP
// connection manager tracing, so a mesh of wasmesh proxies and Envoys reports one trace: the same
// collector (Zipkin v2 JSON, or OTLP/HTTP), the same sampling percentage (x-client-trace-id
// forcing, client_sampling 100 % as Istio sets it), 128-bit trace ids, span ids of their own
// (shared_span_context false) and a client span per upstream attempt (spawn_upstream_span), as
// wasmesh writes them (host/telemetry/tracing/stream-trace.ts). The collector is a cluster of
// its own. Absent tracing: nothing (Envoy then forwards trace headers untouched, as wasmesh does).
import type { TracingConfig, TracingProvider } from '../model/tracing.js';

type Obj = Record<string, unknown>;

/** The collector cluster's name for a provider. */
export function tracingClusterName(p: TracingProvider): string {
  return `wasmesh_tracing_${p.kind}|${p.service}:${p.port}`;
}

function provider(p: TracingProvider, serviceName: string): Obj {
  const cluster = tracingClusterName(p);
  if (p.kind === 'zipkin') {
    return {
      name: 'envoy.tracers.zipkin',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
        collector_cluster: cluster,
        collector_endpoint: p.path,
        collector_endpoint_version: 'HTTP_JSON',
        collector_hostname: p.service,
        trace_id_128bit: true,
        shared_span_context: false,
      },
    };
  }
  return {
    name: 'envoy.tracers.opentelemetry',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
      http_service: { http_uri: { uri: `http://${p.service}:${p.port}${p.path}`, cluster, timeout: '5s' } },
      service_name: serviceName,
    },
  };
}

function customTags(t: TracingConfig): Obj[] {
  return t.customTags.map((c) => {
    if (c.kind === 'literal') return { tag: c.tag, literal: { value: c.value } };
    if (c.kind === 'environment') return { tag: c.tag, environment: { name: c.name, ...(c.defaultValue !== null ? { default_value: c.defaultValue } : {}) } };
    return { tag: c.tag, request_header: { name: c.name, ...(c.defaultValue !== null ? { default_value: c.defaultValue } : {}) } };
  });
}

/**
 * The HCM's `tracing` field (spread into the HCM; empty without tracing). `serviceName` names the
 * Envoy in its spans (OpenTelemetry; Zipkin takes the node's cluster).
 */
export function envoyHcmTracing(t: TracingConfig | undefined, serviceName: string): Obj {
  if (t === undefined) return {};
  // disableSpanReporting: Envoy keeps propagating context with sampling 0 % and no forced traces.
  const sampling = t.disableSpanReporting ? 0 : t.samplingPercentage;
  return {
    tracing: {
      client_sampling: { value: t.disableSpanReporting ? 0 : 100 },
      random_sampling: { value: sampling },
      overall_sampling: { value: 100 },
      max_path_tag_length: t.provider.maxTagLength,
      ...(t.customTags.length > 0 ? { custom_tags: customTags(t) } : {}),
      spawn_upstream_span: true,
      provider: provider(t.provider, serviceName),
    },
  };
}

/** The collector's cluster (none without tracing). `isIp` decides STATIC or STRICT_DNS. */
export function envoyTracingClusters(t: TracingConfig | undefined, isIp: (host: string) => boolean): Obj[] {
  if (t === undefined) return [];
  const p = t.provider;
  const name = tracingClusterName(p);
  return [{
    name,
    type: isIp(p.service) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: p.service, port_value: p.port } } } }] }] },
  }];
}
