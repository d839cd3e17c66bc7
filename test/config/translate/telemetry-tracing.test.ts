// Tracing configuration from YAML: meshConfig's zipkin and opentelemetry extension providers,
// defaultProviders.tracing and defaultConfig.tracing.sampling, and the Telemetry API's tracing
// resolved per proxy (root namespace, namespace, selector; most specific wins, custom tags merge),
// with located errors for what is wrong.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../../host/config/index.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import type { LoadOptions } from '../../../host/config/index.js';

const MESH = (extra = ''): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    extensionProviders:
    - name: zipkin
      zipkin:
        service: zipkin.istio-system.svc.cluster.local
        port: 9411
        maxTagLength: 64
    - name: otel
      opentelemetry:
        service: otel-collector.observability.svc.cluster.local
        port: 4318
        http:
          path: /v1/traces
${extra.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
`;

function load(yaml: string, options: LoadOptions = {}) {
  const { path } = tempYaml({ 'a.yaml': yaml });
  return loadConfig([path('a.yaml')], options);
}

function errorOf(yaml: string, options: LoadOptions = {}): string {
  try {
    load(yaml, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const telemetry = (ns: string, name: string, body: string): string => `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: ${ns}}
spec:
${body.split('\n').filter(Boolean).map((l) => `  ${l}`).join('\n')}
`;

describe('meshConfig tracing providers', () => {
  test('no provider anywhere: no tracing', () => {
    expect(load(MESH()).mesh.tracing).toBeUndefined();
  });

  test('defaultProviders.tracing with Istio\'s 1 %, or defaultConfig.tracing.sampling', () => {
    expect(load(MESH('defaultProviders:\n  tracing: [zipkin]')).mesh.tracing).toEqual({
      provider: { name: 'zipkin', kind: 'zipkin', service: 'zipkin.istio-system.svc.cluster.local', port: 9411, path: '/api/v2/spans', maxTagLength: 64 },
      samplingPercentage: 1, customTags: [], disableSpanReporting: false,
    });
    const t = load(MESH('defaultProviders:\n  tracing: [otel]\ndefaultConfig:\n  tracing:\n    sampling: 25.5')).mesh.tracing!;
    expect(t.provider).toEqual({ name: 'otel', kind: 'opentelemetry', service: 'otel-collector.observability.svc.cluster.local', port: 4318, path: '/v1/traces', maxTagLength: 256 });
    expect(t.samplingPercentage).toBe(25.5);
  });

  test('located errors: unknown default provider, OTLP over gRPC, bad sampling', () => {
    expect(errorOf(MESH('defaultProviders:\n  tracing: [jaeger]'))).toMatch(/a\.yaml:\d+.*defaultProviders\.tracing\[0\]: no extension provider is named "jaeger" \(defined: zipkin, otel\)/);
    expect(errorOf(MESH('defaultConfig:\n  tracing:\n    sampling: 150'))).toMatch(/defaultConfig\.tracing\.sampling: must be a percentage between 0 and 100/);
  });

  test('an opentelemetry provider without http (OTLP/gRPC in Istio): a warning where defined, an error where used', () => {
    const yaml = `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    extensionProviders:
    - name: otel
      opentelemetry:
        service: otel
        port: 4317
`;
    const r = load(yaml);
    expect(r.mesh.tracing).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/a\.yaml:8 .*extensionProviders\[0\]\.opentelemetry is not served: provider "otel" exports OTLP over gRPC/);
    expect(errorOf(yaml + '    defaultProviders: {tracing: [otel]}\n')).toMatch(/defaultProviders\.tracing\[0\]: extension provider "otel" exports OTLP over gRPC, which is not served/);
    expect(errorOf(yaml + telemetry('default', 't', 'tracing:\n- providers: [{name: otel}]'))).toMatch(/Telemetry default\/t: spec\.tracing\[0\]\.providers\[0\]\.name: extension provider "otel" exports OTLP over gRPC/);
  });
});

describe('Telemetry API tracing', () => {
  const base = MESH('defaultProviders:\n  tracing: [zipkin]');

  test('mesh-wide (root namespace), namespace and workload levels: the most specific wins; custom tags merge', () => {
    const yaml = base
      + telemetry('istio-system', 'mesh-default', 'tracing:\n- randomSamplingPercentage: 10\n  customTags:\n    team: {literal: {value: platform}}\n    region: {environment: {name: REGION, defaultValue: eu}}')
      + telemetry('default', 'ns', 'tracing:\n- providers: [{name: otel}]\n  customTags:\n    team: {literal: {value: reviews}}')
      + telemetry('default', 'wl', 'selector:\n  matchLabels: {app: ratings}\ntracing:\n- randomSamplingPercentage: 100\n  customTags:\n    user: {header: {name: X-User, defaultValue: anon}}');
    const ratings = load(yaml, { namespace: 'default', labels: { app: 'ratings' } }).mesh.tracing!;
    expect(ratings.provider.name).toBe('otel');
    expect(ratings.samplingPercentage).toBe(100);
    expect(ratings.customTags).toEqual([
      { tag: 'team', kind: 'literal', value: 'reviews' },
      { tag: 'region', kind: 'environment', name: 'REGION', defaultValue: 'eu' },
      { tag: 'user', kind: 'header', name: 'x-user', defaultValue: 'anon' },
    ]);
    const reviews = load(yaml, { namespace: 'default', labels: { app: 'reviews' } }).mesh.tracing!;
    expect(reviews.provider.name).toBe('otel');
    expect(reviews.samplingPercentage).toBe(10);
    const other = load(yaml, { namespace: 'other', labels: { app: 'ratings' } }).mesh.tracing!;
    expect(other.provider.name).toBe('zipkin');
    expect(other.samplingPercentage).toBe(10);
    expect(other.customTags.map((t) => t.tag === 'team' && t.kind === 'literal' ? t.value : t.tag)).toEqual(['platform', 'region']);
  });

  test('v1alpha1 is read the same; disableSpanReporting; a Telemetry naming a provider enables tracing without defaultProviders', () => {
    const yaml = MESH() + telemetry('istio-system', 'm', 'tracing:\n- providers: [{name: zipkin}]\n  disableSpanReporting: true').replace('telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1');
    expect(load(yaml).mesh.tracing).toMatchObject({ provider: { name: 'zipkin' }, disableSpanReporting: true, samplingPercentage: 1 });
  });

  test('located errors: unknown provider, an ext_authz provider, a custom tag with two kinds, a bad header name, sampling out of range', () => {
    expect(errorOf(base + telemetry('default', 't', 'tracing:\n- providers: [{name: jaeger}]'))).toMatch(/a\.yaml:\d+ .*Telemetry default\/t: spec\.tracing\[0\]\.providers\[0\]\.name: no tracing extension provider is named "jaeger" in meshConfig \(defined: zipkin, otel\)/);
    expect(errorOf(base + telemetry('default', 't', 'tracing:\n- customTags:\n    a: {literal: {value: x}, header: {name: y}}'))).toMatch(/spec\.tracing\[0\]\.customTags\.a: a custom tag takes exactly one of literal, environment, header; got literal, header/);
    expect(errorOf(base + telemetry('default', 't', 'tracing:\n- customTags:\n    a: {header: {name: "x y"}}'))).toMatch(/customTags\.a\.header\.name: must be an HTTP header name/);
    expect(errorOf(base + telemetry('default', 't', 'tracing:\n- randomSamplingPercentage: 101'))).toMatch(/spec\.tracing\[0\]\.randomSamplingPercentage: .*100/);
    expect(errorOf(base + telemetry('default', 't', 'tracing:\n- randomSampling: 1'))).toMatch(/spec\.tracing\[0\]/);
  });

  test('a Telemetry for another namespace or selector does not apply, but is still checked', () => {
    const ok = MESH() + telemetry('prod', 't', 'tracing:\n- providers: [{name: zipkin}]');
    expect(load(ok, { namespace: 'default' }).mesh.tracing).toBeUndefined();
    expect(load(ok, { namespace: 'prod' }).mesh.tracing?.provider.name).toBe('zipkin');
    expect(errorOf(MESH() + telemetry('prod', 't', 'tracing:\n- providers: [{name: nope}]'), { namespace: 'default' })).toMatch(/no tracing extension provider is named "nope"/);
  });

  test('match.mode: CLIENT serves what the workload sends (and gateways), SERVER its inbound; absent, both; the first entry per mode wins', () => {
    const server = load(base + telemetry('default', 't', 'tracing:\n- match: {mode: SERVER}\n  randomSamplingPercentage: 50'));
    expect(server.mesh.tracing!.samplingPercentage).toBe(1);
    expect(server.mesh.inboundTracing!.samplingPercentage).toBe(50);
    const split = load(MESH() + telemetry('default', 't', 'tracing:\n- match: {mode: CLIENT}\n  providers: [{name: zipkin}]\n- match: {mode: CLIENT_AND_SERVER}\n  providers: [{name: otel}]\n- providers: [{name: zipkin}]'));
    expect(split.mesh.tracing!.provider.name).toBe('zipkin');
    expect(split.mesh.inboundTracing!.provider.name).toBe('otel');
    expect(split.warnings.join('\n')).toMatch(/spec\.tracing\[2\] is ignored: an earlier entry already covers CLIENT_AND_SERVER/);
    // Only the client side has a provider: the inbound listener traces nothing.
    const clientOnly = load(MESH() + telemetry('default', 't', 'tracing:\n- match: {mode: CLIENT}\n  providers: [{name: zipkin}]'));
    expect(clientOnly.mesh.tracing!.provider.name).toBe('zipkin');
    expect(clientOnly.mesh.inboundTracing).toBeNull();
    // The same both ways: nothing extra written.
    expect('inboundTracing' in load(base).mesh).toBe(false);
  });

  test('targetRefs select a gateway proxy\'s Gateway (a workload-level setting); sidecars ignore them', () => {
    const gw = `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
`;
    const yaml = base + gw + telemetry('default', 't', 'targetRefs:\n- {kind: Gateway, group: gateway.networking.k8s.io, name: edge}\ntracing:\n- randomSamplingPercentage: 42');
    expect(load(yaml, { gateway: 'edge' }).mesh.tracing!.samplingPercentage).toBe(42);
    expect(load(yaml, { namespace: 'default' }).mesh.tracing!.samplingPercentage).toBe(1);
    expect(errorOf(base + telemetry('default', 't', 'selector: {matchLabels: {a: b}}\ntargetRef: {kind: Gateway, name: edge}\ntracing:\n- randomSamplingPercentage: 1'))).toMatch(/spec\.targetRef: selector and targetRef\(s\) are exclusive/);
  });
});
