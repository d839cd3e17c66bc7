import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../../host/config/index.js';
import { readConfig } from '../../../host/config/load-config.js';
import { meshSettingsOf } from '../../../host/config/translate/mesh-settings.js';
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../../../host/model/mesh-settings.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

function settingsOf(yaml: string): { settings: MeshSettings; warnings: string[] } {
  const { path } = tempYaml({ 'mesh.yaml': yaml });
  const read = readConfig([path('mesh.yaml')]);
  const warnings = [...read.warnings];
  return { settings: meshSettingsOf(read.meshSources, warnings), warnings };
}

function issuesOf(yaml: string): string {
  const { path } = tempYaml({ 'mesh.yaml': yaml });
  try {
    readConfig([path('mesh.yaml')]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const CONFIGMAP = (mesh: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
${mesh.split('\n').map((l) => `    ${l}`).join('\n')}
`;

describe('the istio ConfigMap', () => {
  test('no meshConfig: Istio defaults', () => {
    expect(settingsOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {mesh: "rootNamespace: x"}\n').settings).toBe(DEFAULT_MESH_SETTINGS);
  });

  test('other ConfigMaps stay skipped with a warning', () => {
    const { warnings } = settingsOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {a: b}\n');
    expect(warnings.join('\n')).toMatch(/v1 ConfigMap skipped/);
  });

  test('served fields are read', () => {
    const { settings, warnings } = settingsOf(CONFIGMAP(`rootNamespace: mesh-root
pathNormalization:
  normalization: MERGE_SLASHES
outboundTrafficPolicy:
  mode: REGISTRY_ONLY
extensionProviders:
- name: http-authz
  envoyExtAuthzHttp:
    service: ext-authz.foo.svc.cluster.local
    port: 8000
    timeout: 2s
    pathPrefix: /check
    failOpen: true
    statusOnError: "503"
    includeRequestHeadersInCheck: [x-ext-authz]
    headersToUpstreamOnAllow: [x-ext-authz-check-result]
    headersToDownstreamOnDeny: [x-ext-authz-check-result]
    includeRequestBodyInCheck:
      maxRequestBytes: 1024
      allowPartialMessage: true
- name: grpc-authz
  envoyExtAuthzGrpc:
    service: ext-authz.foo.svc.cluster.local
    port: 9000`));
    expect(warnings).toEqual([]);
    expect(settings.rootNamespace).toBe('mesh-root');
    expect(settings.pathNormalization).toBe('MERGE_SLASHES');
    expect(settings.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
    expect(settings.extAuthzProviders).toEqual([
      {
        name: 'http-authz', kind: 'http', service: 'ext-authz.foo.svc.cluster.local', port: 8000, timeoutMs: 2000, failOpen: true,
        statusOnError: 503, pathPrefix: '/check', includeRequestHeadersInCheck: ['x-ext-authz'],
        headersToUpstreamOnAllow: ['x-ext-authz-check-result'], headersToDownstreamOnDeny: ['x-ext-authz-check-result'], maxRequestBytes: 1024,
        allowPartialMessage: true, packAsBytes: false,
      },
      {
        name: 'grpc-authz', kind: 'grpc', service: 'ext-authz.foo.svc.cluster.local', port: 9000, timeoutMs: 600_000, failOpen: false,
        statusOnError: 403, pathPrefix: '', includeRequestHeadersInCheck: [], headersToUpstreamOnAllow: [], headersToDownstreamOnDeny: [], maxRequestBytes: null,
        allowPartialMessage: false, packAsBytes: false,
      },
    ]);
  });

  test('DEFAULT normalization is BASE; proto names are accepted', () => {
    expect(settingsOf(CONFIGMAP('path_normalization:\n  normalization: DEFAULT')).settings.pathNormalization).toBe('BASE');
  });

  test('known but unserved fields warn at their line', () => {
    const { settings, warnings } = settingsOf(CONFIGMAP('enableEnvoyAccessLogService: true\nenableTracing: true\nextensionProviders:\n- name: sky\n  skywalking: {service: sky, port: 11800}'));
    expect(settings.extAuthzProviders).toEqual([]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/mesh\.yaml:8 \(document 1\) ConfigMap istio-system\/istio: data\.mesh\.enableEnvoyAccessLogService is not served/);
    expect(warnings[1]).toMatch(/mesh\.yaml:9 .*data\.mesh\.enableTracing is not served/);
    expect(warnings[2]).toMatch(/mesh\.yaml:12 .*extensionProviders\[0\]\.skywalking is not served.*"sky" is ignored/);
  });

  test('accessLogFile is served (telemetry-access-logging.test.ts): no warning', () => {
    expect(settingsOf(CONFIGMAP('accessLogFile: /dev/stdout')).warnings).toEqual([]);
  });

  test('an unknown field is a located error with the nearest name', () => {
    const message = issuesOf(CONFIGMAP('rootNamespace: x\npathNormalisation:\n  normalization: NONE'));
    expect(message).toMatch(/mesh\.yaml:9 \(document 1\) ConfigMap istio-system\/istio: data\.mesh\.pathNormalisation: unknown field "pathNormalisation": not part of Istio's MeshConfig \(did you mean pathNormalization\?\)/);
  });

  test('a bad enum, a bad port and a bad duration are located inside data.mesh', () => {
    const message = issuesOf(CONFIGMAP(`pathNormalization:
  normalization: MERGE
extensionProviders:
- name: a
  envoyExtAuthzGrpc:
    service: s
    port: 0
    timeout: 2 seconds`));
    expect(message).toMatch(/mesh\.yaml:9 .*data\.mesh\.pathNormalization\.normalization: must be one of/);
    expect(message).toMatch(/mesh\.yaml:14 .*data\.mesh\.extensionProviders\[0\]\.envoyExtAuthzGrpc\.port: port must be in 1\.\.65535/);
    expect(message).toMatch(/mesh\.yaml:15 .*envoyExtAuthzGrpc\.timeout: "2 seconds" is not a valid duration/);
  });

  test('a provider with two kinds, or a duplicate name, is refused', () => {
    expect(issuesOf(CONFIGMAP('extensionProviders:\n- name: a\n  envoyExtAuthzGrpc: {service: s, port: 1}\n  envoyExtAuthzHttp: {service: s, port: 1}'))).toMatch(/exactly one provider kind/);
    expect(issuesOf(CONFIGMAP('extensionProviders:\n- name: a\n  envoyExtAuthzGrpc: {service: s, port: 1}\n- name: a\n  envoyExtAuthzGrpc: {service: s, port: 1}'))).toMatch(/extensionProviders\[1\]\.name: extension provider "a" is defined twice/);
  });

  test('data.mesh that is not YAML or not a string is a located error', () => {
    expect(issuesOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: {a: 1}\n')).toMatch(/mesh\.yaml:5 .*data\.mesh: must be a string/);
    expect(issuesOf(CONFIGMAP('a: [1'))).toMatch(/data\.mesh: meshConfig: YAML syntax error/);
  });

  test('a one-line data.mesh is located at the mesh key', () => {
    expect(issuesOf('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: "bogus: 1"\n')).toMatch(/mesh\.yaml:5 .*data\.mesh\.bogus: unknown field "bogus": not part of Istio's MeshConfig \[/);
  });
});

describe('meshConfig discoverySelectors', () => {
  test('read as label selectors (served: control-plane --kube applies them), no "not served" warning', () => {
    const { settings, warnings } = settingsOf(CONFIGMAP(`discoverySelectors:
- matchLabels:
    istio-discovery: enabled
- matchExpressions:
  - key: app
    operator: In
    values: [cassandra, spark]`));
    expect(settings.discoverySelectors).toEqual([
      { matchLabels: { 'istio-discovery': 'enabled' } },
      { matchExpressions: [{ key: 'app', operator: 'In', values: ['cassandra', 'spark'] }] },
    ]);
    expect(warnings.join('\n')).not.toMatch(/discoverySelectors/);
  });

  test('none or an empty list: absent (every namespace)', () => {
    expect(settingsOf(CONFIGMAP('rootNamespace: istio-system')).settings.discoverySelectors).toBeUndefined();
    expect(settingsOf(CONFIGMAP('discoverySelectors: []')).settings.discoverySelectors).toBeUndefined();
  });

  test('a bad selector is a located error: unknown operator, In without values, Exists with values', () => {
    expect(issuesOf(CONFIGMAP(`discoverySelectors:
- matchExpressions:
  - key: app
    operator: Equals
    values: [x]`))).toMatch(/mesh\.yaml:11 .*data\.mesh\.discoverySelectors\[0\]\.matchExpressions\[0\]\.operator/);
    expect(issuesOf(CONFIGMAP(`discoverySelectors:
- matchExpressions:
  - key: app
    operator: In`))).toMatch(/discoverySelectors\[0\]\.matchExpressions\[0\]\.values.*operator In needs at least one value/);
    expect(issuesOf(CONFIGMAP(`discoverySelectors:
- matchExpressions:
  - key: app
    operator: Exists
    values: [x]`))).toMatch(/operator Exists takes no values/);
  });
});

describe('IstioOperator spec.meshConfig', () => {
  test('is read; the rest of the spec warns', () => {
    const { settings, warnings } = settingsOf(`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: install, namespace: istio-system}
spec:
  profile: default
  meshConfig:
    pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}
`);
    expect(settings.pathNormalization).toBe('DECODE_AND_MERGE_SLASHES');
    expect(warnings.join('\n')).toMatch(/IstioOperator istio-system\/install: spec\.profile is not served/);
  });

  test('errors are located at the field', () => {
    expect(issuesOf('apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: i}\nspec:\n  meshConfig:\n    outboundTrafficPolicy:\n      mode: DENY\n')).toMatch(/mesh\.yaml:7 .*spec\.meshConfig\.outboundTrafficPolicy\.mode: must be one of/);
  });

  test('given twice, the last wins with a warning', () => {
    const { settings, warnings } = settingsOf(`${CONFIGMAP('rootNamespace: first')}---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: i}
spec: {meshConfig: {rootNamespace: second}}
`);
    expect(settings.rootNamespace).toBe('second');
    expect(warnings.join('\n')).toMatch(/meshConfig is given 2 times .*the last one wins/);
  });
});

describe('resolveMesh', () => {
  test('pathNormalization reaches the MeshConfig (absent = BASE); ext_authz providers only when a CUSTOM policy names them', () => {
    const custom = '---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ext}\nspec: {action: CUSTOM, provider: {name: a}, rules: [{}]}\n';
    const providers = 'pathNormalization: {normalization: NONE}\nextensionProviders: [{name: a, envoyExtAuthzHttp: {service: s, port: 80}}, {name: b, envoyExtAuthzHttp: {service: t, port: 80}}]';
    const { path } = tempYaml({ 'a.yaml': CONFIGMAP(providers) + custom, 'c.yaml': CONFIGMAP(providers), 'b.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\n' });
    const mesh = loadConfig([path('a.yaml')]).mesh;
    expect(mesh.pathNormalization).toBe('NONE');
    expect(mesh.extAuthzProviders?.map((p) => p.name)).toEqual(['a']);
    expect(loadConfig([path('c.yaml')]).mesh.extAuthzProviders).toBeUndefined();
    expect(loadConfig([path('b.yaml')]).mesh.pathNormalization).toBeUndefined();
  });
});
