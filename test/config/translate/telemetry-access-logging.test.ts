// Access logging from YAML: meshConfig accessLogFile / accessLogFormat / accessLogEncoding (the
// built-in `envoy` provider), extensionProviders[].envoyFileAccessLog, defaultProviders, and the
// Telemetry API's accessLogging resolved per proxy (scope, modes, disabled, response.code
// filters), with located errors for formats and expressions wasmesh does not serve.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../../host/config/index.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import type { LoadOptions } from '../../../host/config/index.js';
import { ISTIO_DEFAULT_JSON_LABELS, ISTIO_DEFAULT_TEXT_FORMAT } from '../../../host/common/access-log-format.js';
import { parseFilter } from '../../../host/config/translate/telemetry-access-logging.js';

const MESH = (lines: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
${lines.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
`;

const PROVIDERS = `extensionProviders:
- name: text-file
  envoyFileAccessLog:
    path: /tmp/a.log
    logFormat:
      text: "%REQ(:METHOD)% %RESPONSE_CODE%\\n"
- name: json-file
  envoyFileAccessLog:
    path: /tmp/b.log
    logFormat:
      labels:
        code: "%RESPONSE_CODE%"
        path: "%REQ(:PATH)%"`;

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

describe('meshConfig', () => {
  test('no accessLogFile and no Telemetry: no access log', () => {
    expect(load(MESH('rootNamespace: istio-system')).mesh.accessLogs).toBeUndefined();
  });

  test("accessLogFile alone: Istio's default TEXT format to that file, on both sides", () => {
    const m = load(MESH('accessLogFile: /dev/stdout')).mesh;
    expect(m.accessLogs).toEqual([{ provider: 'envoy', path: '/dev/stdout', encoding: 'TEXT', format: ISTIO_DEFAULT_TEXT_FORMAT.slice(0, -1) }]);
    expect(m.inboundAccessLogs).toBeUndefined();
  });

  test("JSON encoding: Istio's JSON labels, or the format read as a JSON object", () => {
    expect(load(MESH('accessLogFile: /var/log/a\naccessLogEncoding: JSON')).mesh.accessLogs![0]!.labels).toEqual(ISTIO_DEFAULT_JSON_LABELS);
    const custom = load(MESH('accessLogFile: /var/log/a\naccessLogEncoding: JSON\naccessLogFormat: \'{"c": "%RESPONSE_CODE%"}\'')).mesh.accessLogs![0]!;
    expect(custom).toMatchObject({ encoding: 'JSON', labels: { c: '%RESPONSE_CODE%' } });
  });

  test('located errors: an operator not served, a JSON format that is no object, an unknown encoding', () => {
    expect(errorOf(MESH('accessLogFile: /dev/stdout\naccessLogFormat: "%METHOD% %FOO%"'))).toMatch(/a\.yaml:9 .*data\.mesh\.accessLogFormat: %METHOD% is not a command operator wasmesh serves .*at character 1 of the format/);
    expect(errorOf(MESH('accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: "[1]"'))).toMatch(/accessLogFormat: with accessLogEncoding JSON, must be a JSON object whose values are strings/);
    expect(errorOf(MESH('accessLogFile: /dev/stdout\naccessLogEncoding: YAML'))).toMatch(/a\.yaml:9 .*accessLogEncoding: must be TEXT or JSON/);
  });

  test('envoyFileAccessLog providers: text (newline dropped), labels; errors located inside the provider', () => {
    const yaml = MESH(`${PROVIDERS}\ndefaultProviders:\n  accessLogging: [text-file, json-file]`);
    expect(load(yaml).mesh.accessLogs).toEqual([
      { provider: 'text-file', path: '/tmp/a.log', encoding: 'TEXT', format: '%REQ(:METHOD)% %RESPONSE_CODE%' },
      { provider: 'json-file', path: '/tmp/b.log', encoding: 'JSON', labels: { code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%' } },
    ]);
    expect(errorOf(MESH('extensionProviders:\n- name: f\n  envoyFileAccessLog:\n    path: /tmp/x\n    logFormat:\n      labels:\n        ct: "%RESP(CONTENT-TYPE)%"')))
      .toMatch(/extensionProviders\[0\]\.envoyFileAccessLog\.logFormat\.labels\.ct: %RESP\(CONTENT-TYPE\)%: wasmesh's access log serves only %RESP\(X-ENVOY-UPSTREAM-SERVICE-TIME\)%/);
    expect(errorOf(MESH(`${PROVIDERS}\ndefaultProviders:\n  accessLogging: [nope]`))).toMatch(/defaultProviders\.accessLogging\[0\]: no access-log provider is named "nope"/);
  });
});

describe('Telemetry accessLogging', () => {
  test('a namespace Telemetry picks providers and a filter; the root one applies elsewhere', () => {
    const yaml = MESH(PROVIDERS) + telemetry('istio-system', 'mesh', 'accessLogging:\n- providers: [{name: json-file}]')
      + telemetry('default', 'ns', 'accessLogging:\n- providers: [{name: text-file}]\n  filter: {expression: "response.code >= 400"}');
    expect(load(yaml, { namespace: 'default' }).mesh.accessLogs).toEqual([
      { provider: 'text-file', path: '/tmp/a.log', encoding: 'TEXT', format: '%REQ(:METHOD)% %RESPONSE_CODE%', filter: { op: '>=', value: 400 } },
    ]);
    expect(load(yaml, { namespace: 'prod' }).mesh.accessLogs!.map((a) => a.provider)).toEqual(['json-file']);
  });

  test('without providers: defaultProviders, else envoy when accessLogFile is set; disabled by a more specific level', () => {
    const yaml = MESH('accessLogFile: /dev/stdout') + telemetry('istio-system', 'mesh', 'accessLogging:\n- filter: {expression: "response.code != 200"}')
      + telemetry('default', 'off', 'selector: {matchLabels: {app: quiet}}\naccessLogging:\n- disabled: true');
    expect(load(yaml, { namespace: 'default', labels: { app: 'reviews' } }).mesh.accessLogs).toMatchObject([{ provider: 'envoy', filter: { op: '!=', value: 200 } }]);
    expect(load(yaml, { namespace: 'default', labels: { app: 'quiet' } }).mesh.accessLogs).toBeUndefined();
  });

  test('match.mode SERVER: only the inbound side logs', () => {
    const m = load(MESH(PROVIDERS) + telemetry('default', 't', 'accessLogging:\n- match: {mode: SERVER}\n  providers: [{name: text-file}]'), { namespace: 'default' }).mesh;
    expect(m.accessLogs).toBeUndefined();
    expect(m.inboundAccessLogs!.map((a) => a.provider)).toEqual(['text-file']);
  });

  test('located errors: an unknown provider, an expression that is not a response.code comparison', () => {
    expect(errorOf(MESH(PROVIDERS) + telemetry('default', 't', 'accessLogging:\n- providers: [{name: nope}]'))).toMatch(/a\.yaml:\d+ .*spec\.accessLogging\[0\]\.providers\[0\]\.name: no access-log provider is named "nope" \(defined: text-file, json-file, envoy/);
    expect(errorOf(MESH(PROVIDERS) + telemetry('default', 't', 'accessLogging:\n- filter:\n    expression: "request.headers[\'x\'] == \'y\'"'))).toMatch(/spec\.accessLogging\[0\]\.filter\.expression: .*wasmesh serves only a comparison of response\.code/);
  });

  test('filter expressions: either operand order, whitespace; anything else refused', () => {
    expect(parseFilter('response.code>=500')).toEqual({ op: '>=', value: 500 });
    expect(parseFilter(' 400 <= response.code ')).toEqual({ op: '>=', value: 400 });
    expect(parseFilter('500 > response.code')).toEqual({ op: '<', value: 500 });
    for (const bad of ['response.code >= 400 && true', 'response.code', 'response.code == "200"', 'response.flags != "-"', 'true']) expect(typeof parseFilter(bad)).toBe('string');
  });
});
