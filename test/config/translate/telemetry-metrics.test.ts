// The Telemetry API's metrics section from YAML: overrides per metric and mode, merged over the
// root-namespace, namespace and selector levels (most specific wins, per tag), with located
// errors for what wasmesh does not serve (other providers, custom metrics, CEL beyond a literal).
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../../host/config/index.js';
import { celStringLiteral } from '../../../host/config/translate/telemetry-metrics.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import type { LoadOptions } from '../../../host/config/index.js';

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

describe('Telemetry metrics overrides', () => {
  test('no metrics section: no overrides (the default)', () => {
    expect(load(telemetry('istio-system', 'm', 'accessLogging:\n- disabled: true')).mesh.metricsOverrides).toBeUndefined();
  });

  test('a metric disabled for CLIENT only; ALL_METRICS tag overrides for both modes, no "not served" warning', () => {
    const c = load(telemetry('istio-system', 'm', `metrics:
- providers: [{name: prometheus}]
  overrides:
  - match: {metric: REQUEST_DURATION, mode: CLIENT}
    disabled: true
  - tagOverrides:
      response_flags: {operation: REMOVE}
      mesh_id: {value: "'m1'"}`));
    const o = c.mesh.metricsOverrides!;
    expect(o.client.REQUEST_DURATION).toEqual({ disabled: true, remove: ['response_flags'], upsert: [['mesh_id', 'm1']] });
    expect(o.server.REQUEST_DURATION).toEqual({ disabled: false, remove: ['response_flags'], upsert: [['mesh_id', 'm1']] });
    expect(o.server.REQUEST_COUNT).toEqual({ disabled: false, remove: ['response_flags'], upsert: [['mesh_id', 'm1']] });
    expect(c.warnings.join('\n')).not.toMatch(/not served/);
  });

  test('levels merge mesh → namespace → selector: the more specific disabled and tags win', () => {
    const yaml = telemetry('istio-system', 'mesh', `metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    disabled: true
    tagOverrides: {a: {value: "'mesh'"}, b: {operation: REMOVE}}`) + telemetry('default', 'ns', `metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: SERVER}
    disabled: false
    tagOverrides: {a: {value: '"ns"'}}`) + telemetry('default', 'sel', `selector: {matchLabels: {app: reviews}}
metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: SERVER}
    tagOverrides: {b: {value: "'back'"}}`);
    const reviews = load(yaml, { namespace: 'default', labels: { app: 'reviews' } }).mesh.metricsOverrides!;
    expect(reviews.client.REQUEST_COUNT).toEqual({ disabled: true, remove: ['b'], upsert: [['a', 'mesh']] });
    expect(reviews.server.REQUEST_COUNT).toEqual({ disabled: false, remove: [], upsert: [['a', 'ns'], ['b', 'back']] });
    const ratings = load(yaml, { namespace: 'default', labels: { app: 'ratings' } }).mesh.metricsOverrides!;
    expect(ratings.server.REQUEST_COUNT).toEqual({ disabled: false, remove: ['b'], upsert: [['a', 'ns']] });
    const other = load(yaml, { namespace: 'other' }).mesh.metricsOverrides!;
    expect(other.server.REQUEST_COUNT!.disabled).toBe(true);
    expect(other.server.REQUEST_SIZE).toBeUndefined();
  });

  test('TCP metrics take overrides as the others; ALL_METRICS covers them (Istio\'s ALL_METRICS)', () => {
    const c = load(telemetry('istio-system', 'm', 'metrics:\n- overrides:\n  - match: {metric: TCP_SENT_BYTES}\n    disabled: true\n  - tagOverrides:\n      response_flags: {operation: REMOVE}'));
    expect(c.warnings.join('\n')).not.toMatch(/TCP_/);
    expect(c.mesh.metricsOverrides!.client.TCP_SENT_BYTES).toEqual({ disabled: true, remove: ['response_flags'], upsert: [] });
    expect(c.mesh.metricsOverrides!.server.TCP_RECEIVED_BYTES).toEqual({ disabled: false, remove: ['response_flags'], upsert: [] });
  });

  test('the gRPC message counts take overrides as the other HTTP metrics', () => {
    const c = load(telemetry('istio-system', 'm', 'metrics:\n- overrides:\n  - match: {metric: GRPC_RESPONSE_MESSAGES, mode: SERVER}\n    disabled: true'));
    expect(c.warnings.join('\n')).not.toMatch(/GRPC_/);
    expect(c.mesh.metricsOverrides).toMatchObject({ server: { GRPC_RESPONSE_MESSAGES: { disabled: true } } });
    expect(c.mesh.metricsOverrides!.client.GRPC_RESPONSE_MESSAGES).toBeUndefined();
  });

  test('what is not served is a located error', () => {
    expect(errorOf(telemetry('default', 't', 'metrics:\n- providers: [{name: stackdriver}]'))).toMatch(/a\.yaml:\d+ .*Telemetry default\/t: spec\.metrics\[0\]\.providers\[0\]\.name: metrics provider "stackdriver": .*built-in "prometheus"/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - tagOverrides: {host: {value: request.host}}'))).toMatch(/spec\.metrics\[0\]\.overrides\[0\]\.tagOverrides\.host\.value: the expression "request\.host" is not served: wasmesh takes a CEL string literal only/);
    expect(errorOf(telemetry('default', 't', "metrics:\n- overrides:\n  - tagOverrides: {x: {value: \"'a' + 'b'\"}}"))).toMatch(/tagOverrides\.x\.value: the expression/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - tagOverrides: {x: {operation: UPSERT}}'))).toMatch(/tagOverrides\.x\.value: UPSERT needs a value/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - tagOverrides: {"bad-name": {operation: REMOVE}}'))).toMatch(/tagOverrides\.bad-name: a tag is a Prometheus label name/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - tagOverrides: {reporter: {operation: REMOVE}}'))).toMatch(/tagOverrides\.reporter: the reporter label is not overridden/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - match: {customMetric: my_metric}'))).toMatch(/overrides\[0\]\.match\.customMetric: custom metrics are not served/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - match: {metric: REQUEST_COUNTS}'))).toMatch(/spec\.metrics\[0\]\.overrides\[0\]\.match\.metric/);
    expect(errorOf(telemetry('default', 't', 'metrics:\n- overrides:\n  - tagOverrides: {x: {operation: DELETE}}'))).toMatch(/tagOverrides\.x\.operation/);
  });
});

describe('celStringLiteral', () => {
  test.each([
    ["'constant'", 'constant'], ['"double"', 'double'], ["''", ''], ["'it\\'s'", "it's"], [" 'x' ", 'x'], ["'a\\\\b'", 'a\\b'],
  ])('%s is %s', (expr, value) => expect(celStringLiteral(expr)).toBe(value));
  test.each([
    ['request.host'], ["'a' + 'b'"], ["'a"], ["'''x'''"], ["'a\\nb'"], ['"a\''], ["r'x'"], ['1'], ["'a' 'b'"],
  ])('%s is refused', (expr) => expect(celStringLiteral(expr)).toBeNull());
});
