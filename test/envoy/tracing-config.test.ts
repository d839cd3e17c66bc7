// MeshConfig.tracing as Envoy's connection manager tracing: the provider (Zipkin v2 JSON with
// 128-bit ids and unshared span contexts, or OTLP/HTTP), sampling, custom tags, a span per
// upstream attempt, and the collector's cluster — in the bootstrap, nothing without tracing.
// (envoy-validate.test.ts runs the same cases through the real Envoy.)
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { envoyHcmTracing } from '../../host/envoy/tracing-config.js';
import { cases } from './bootstrap-cases.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoySnapshot } from '../../host/control-plane/snapshots.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';

type Obj = Record<string, any>;

function hcmOf(config: Obj): Obj {
  return config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
}

describe('Envoy tracing config', () => {
  it('Zipkin: the collector cluster, HTTP_JSON, 128-bit ids, own span ids, per-attempt spans, sampling and custom tags', () => {
    const { config } = envoyBootstrap(cases.tracingZipkin!.loaded, cases.tracingZipkin!.opts);
    const hcm = hcmOf(config as Obj);
    expect(hcm.tracing).toEqual({
      client_sampling: { value: 100 },
      random_sampling: { value: 12.5 },
      overall_sampling: { value: 100 },
      max_path_tag_length: 256,
      custom_tags: [
        { tag: 'team', literal: { value: 'web' } },
        { tag: 'region', environment: { name: 'REGION', default_value: 'eu' } },
        { tag: 'user', request_header: { name: 'x-user' } },
      ],
      spawn_upstream_span: true,
      provider: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
          collector_cluster: 'wasmesh_tracing_zipkin|127.0.0.1:19411',
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          collector_hostname: '127.0.0.1',
          trace_id_128bit: true,
          shared_span_context: false,
        },
      },
    });
    const cluster = (config as Obj).static_resources.clusters.find((c: Obj) => c.name === 'wasmesh_tracing_zipkin|127.0.0.1:19411');
    expect(cluster).toMatchObject({ type: 'STATIC', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 19411 } } } }] }] } });
  });

  it('OpenTelemetry: OTLP/HTTP to the provider\'s path, a DNS cluster', () => {
    const { config } = envoyBootstrap(cases.tracingOtel!.loaded, cases.tracingOtel!.opts);
    expect(hcmOf(config as Obj).tracing.provider).toEqual({
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
        http_service: { http_uri: { uri: 'http://otel-collector.observability.svc.cluster.local:4318/v1/traces', cluster: 'wasmesh_tracing_opentelemetry|otel-collector.observability.svc.cluster.local:4318', timeout: '5s' } },
        service_name: 'outbound_18080',
      },
    });
    expect((config as Obj).static_resources.clusters.find((c: Obj) => c.name.startsWith('wasmesh_tracing_')).type).toBe('STRICT_DNS');
  });

  it('no tracing: no tracing field and no collector cluster; disableSpanReporting samples nothing', () => {
    const { config } = envoyBootstrap({ ...cases.tracingZipkin!.loaded, mesh: { ...cases.tracingZipkin!.loaded.mesh, tracing: undefined } }, cases.tracingZipkin!.opts);
    expect('tracing' in hcmOf(config as Obj)).toBe(false);
    expect((config as Obj).static_resources.clusters.some((c: Obj) => String(c.name).startsWith('wasmesh_tracing_'))).toBe(false);
    const off = envoyHcmTracing({ ...cases.tracingZipkin!.loaded.mesh.tracing!, disableSpanReporting: true }, 'x').tracing as Obj;
    expect([off.random_sampling, off.client_sampling]).toEqual([{ value: 0 }, { value: 0 }]);
  });

  it('the sidecar inbound listener traces the same way', () => {
    const { listener, clusters } = envoyInbound({ listen: { host: '0.0.0.0', port: 15006 }, appPorts: [8080], mode: 'DISABLE', tracing: cases.tracingZipkin!.loaded.mesh.tracing! });
    expect((listener as Obj).filter_chains[0].filters[0].typed_config.tracing.provider.name).toBe('envoy.tracers.zipkin');
    expect(clusters.map((c: Obj) => c.name)).toContain('wasmesh_tracing_zipkin|127.0.0.1:19411');
  });

  it('the control plane encodes it for xDS (the tracer configs are among the protos it loads)', () => {
    for (const [name, needle] of [['tracingZipkin', 'envoy.config.trace.v3.ZipkinConfig'], ['tracingOtel', 'envoy.config.trace.v3.OpenTelemetryConfig']] as const) {
      const { config } = envoyBootstrap(cases[name]!.loaded, cases[name]!.opts);
      const snapshot = envoySnapshot(envoyXdsResources(config as Obj));
      const listener = [...snapshot.get(TYPE_URL.listener)!.resources.values()][0]!;
      const bytes = Buffer.from(listener.body.value);
      expect(bytes.includes(needle)).toBe(true);
      expect(bytes.includes(`wasmesh_tracing_${name === 'tracingZipkin' ? 'zipkin' : 'opentelemetry'}|`)).toBe(true);
      expect([...snapshot.get(TYPE_URL.cluster)!.resources.keys()].some((k) => k.startsWith('wasmesh_tracing_'))).toBe(true);
    }
  });
});
