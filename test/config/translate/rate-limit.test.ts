// RateLimitPolicy (policy.wasmesh.io/v1alpha1) read and translated: located errors (unknown
// field with the nearest name, bad bucket, bad service, route references that name nothing),
// scope (root namespace, namespace, selector), rules split between every request and routes.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../host/config/index.js';
import { ConfigError } from '../../../host/config/config-error.js';
import type { LoadOptions } from '../../../host/config/loaded-config.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  ports: [{number: 9080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
  - name: v1
    match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: reviews.default.svc.cluster.local}}]
  - route: [{destination: {host: reviews.default.svc.cluster.local}}]
`;

const HEAD = 'apiVersion: policy.wasmesh.io/v1alpha1\nkind: RateLimitPolicy\n';

function load(policy: string, options: LoadOptions = {}) {
  const { dir } = tempYaml({ 'a.yaml': SERVICE, 'b.yaml': HEAD + policy });
  return loadConfig([dir], options);
}

function issuesOf(policy: string): string[] {
  try {
    load(policy);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.line} ${i.path}: ${i.reason} [${i.code}]`);
    throw err;
  }
  throw new Error('loaded');
}

describe('RateLimitPolicy: validation', () => {
  it('an unknown field names the nearest one, at its line', () => {
    expect(issuesOf('metadata: {name: p}\nspec:\n  local:\n    rules:\n    - tokenBuckt: {maxTokens: 1, fillInterval: 1s}\n')).toEqual([
      '7 spec.local.rules[0].tokenBucket: required field is missing (expected a mapping) [missing_field]',
      '7 spec.local.rules[0].tokenBuckt: unknown field "tokenBuckt": not part of the wasmesh RateLimitPolicy API (did you mean tokenBucket?) [unknown_field]',
    ]);
  });

  it('bad numbers, intervals under 50 ms, two descriptor sources in one entry, a service without port, no local/global', () => {
    const issues = issuesOf(`metadata: {name: p}
spec:
  local:
    rules:
    - tokenBucket: {maxTokens: -1, tokensPerFill: 0, fillInterval: 10ms}
      descriptor: [{path: {}, remoteAddress: {}}]
  global:
    service: ratelimit
    domain: d
    rules: [{descriptor: [{requestHeader: {name: "bad header"}}]}]
`);
    expect(issues.map((i) => i.replace(/:.*\[/, ' [').replace(/^\d+ /, ''))).toEqual([
      'spec.local.rules[0].tokenBucket.maxTokens [invalid_value]',
      'spec.local.rules[0].tokenBucket.tokensPerFill [invalid_value]',
      'spec.local.rules[0].tokenBucket.fillInterval [invalid_duration]',
      'spec.local.rules[0].descriptor[0] [invalid_value]',
      'spec.global.service [invalid_value]',
      'spec.global.rules[0].descriptor[0].requestHeader.name [invalid_value]',
    ]);
    expect(issuesOf('metadata: {name: p}\nspec: {selector: {matchLabels: {app: x}}}\n')).toEqual(['4 spec: a RateLimitPolicy needs local or global (or both) [missing_field]']);
  });

  it('a route reference to a VirtualService or rule that does not exist, with the nearest name', () => {
    expect(issuesOf('metadata: {name: p}\nspec:\n  local:\n    rules:\n    - route: {virtualService: reviws}\n      tokenBucket: {maxTokens: 1, fillInterval: 1s}\n')).toEqual([
      '7 spec.local.rules[0].route.virtualService: no VirtualService default/reviws in the loaded files (did you mean reviews?) [invalid_value]',
    ]);
    expect(issuesOf('metadata: {name: p}\nspec:\n  local:\n    rules:\n    - route: {virtualService: reviews, name: v2}\n      tokenBucket: {maxTokens: 1, fillInterval: 1s}\n')).toEqual([
      '7 spec.local.rules[0].route.name: VirtualService default/reviews has no http route named "v2" (did you mean v1?) [invalid_value]',
    ]);
  });

  it('a misspelt kind in the wasmesh group gets a suggestion', () => {
    const { dir } = tempYaml({ 'b.yaml': 'apiVersion: policy.wasmesh.io/v1alpha1\nkind: RateLimitPolcy\nmetadata: {name: p}\nspec: {}\n' });
    expect(() => loadConfig([dir], {})).toThrow(/did you mean RateLimitPolicy/);
  });
});

describe('RateLimitPolicy: translation and scope', () => {
  const POLICY = `metadata: {name: p, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  local:
    maxDynamicDescriptors: 50
    rules:
    - tokenBucket: {maxTokens: 100, tokensPerFill: 10, fillInterval: 1s}
    - name: per-user
      descriptor: [{requestHeader: {name: X-User}}]
      tokenBucket: {maxTokens: 5, fillInterval: 1m}
    - name: v1
      route: {virtualService: reviews, name: v1}
      tokenBucket: {maxTokens: 2, fillInterval: 10s}
  global:
    service: ratelimit.rls.svc.cluster.local:8081
    domain: reviews
    rules:
    - descriptor: [{genericKey: {value: all}}, {remoteAddress: {}}]
    - name: by-principal
      route: {virtualService: default/reviews}
      descriptor: [{sourcePrincipal: {descriptorKey: who}}]
`;

  it('rules for every request go to MeshConfig.rateLimit, route rules to the routes they name (each its own bucket)', () => {
    const mesh = load(POLICY, { labels: { app: 'reviews' } }).mesh;
    expect(mesh.rateLimit!.local).toEqual([
      { name: 'default/p/local/0', bucket: { maxTokens: 100, tokensPerFill: 10, fillIntervalMs: 1000 }, descriptor: [], maxDynamicDescriptors: 50, responseHeaders: true },
      { name: 'default/p/local/per-user', bucket: { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 60_000 }, descriptor: [{ kind: 'requestHeader', header: 'x-user', key: 'x-user' }], maxDynamicDescriptors: 50, responseHeaders: true },
    ]);
    expect(mesh.rateLimit!.services).toEqual([{
      policy: 'default/p', host: 'ratelimit.rls.svc.cluster.local', port: 8081, domain: 'reviews', timeoutMs: 20, failureModeDeny: false, responseHeaders: true,
      rules: [{ name: 'default/p/global/0', descriptor: [{ kind: 'genericKey', key: 'generic_key', value: 'all' }, { kind: 'remoteAddress', key: 'remote_address' }] }],
    }]);
    const routes = mesh.virtualHosts.flatMap((vh) => vh.routes);
    const v1 = routes.find((r) => r.name === 'default/reviews/v1')!;
    const other = routes.find((r) => r.name === 'default/reviews/1')!;
    expect(v1.rateLimit!.local.map((r) => r.name)).toEqual(['default/p/local/v1@default/reviews/v1']);
    const service = mesh.rateLimit!.services[0]!;
    expect(v1.rateLimit!.global.map((g) => [g.service === service, g.rule.name])).toEqual([[true, 'default/p/global/0'], [true, 'default/p/global/by-principal']]);
    expect(v1.rateLimit!.global[1]!.rule.descriptor).toEqual([{ kind: 'sourcePrincipal', key: 'who' }]);
    expect(other.rateLimit!.local).toEqual([]);
    expect(other.rateLimit!.global).toHaveLength(2);
  });

  it('scope: another workload, another namespace: nothing; the root namespace applies mesh-wide', () => {
    expect(load(POLICY, { labels: { app: 'ratings' } }).mesh.rateLimit).toBeUndefined();
    expect(load(POLICY, { labels: { app: 'reviews' }, namespace: 'other' }).mesh.rateLimit).toBeUndefined();
    const root = `metadata: {name: mesh, namespace: istio-system}\nspec:\n  local:\n    rules: [{tokenBucket: {maxTokens: 1, fillInterval: 1s}}]\n`;
    expect(load(root, { namespace: 'other' }).mesh.rateLimit!.local.map((r) => r.name)).toEqual(['istio-system/mesh/local/0']);
  });

  it('two rules with one name are refused', () => {
    expect(issuesOf('metadata: {name: p}\nspec:\n  local:\n    rules:\n    - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 1s}}\n    - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 1s}}\n')).toEqual([
      '8 spec.local.rules[1].name: rule name "a" is used twice in local [invalid_value]',
    ]);
  });
});

describe('RateLimitPolicy: context (which listeners enforce it)', () => {
  const policy = (context: string, extra = '') => `metadata: {name: p, namespace: default}
spec:
${context === '' ? '' : `  context: ${context}\n`}  local:
    rules:
    - name: all
      tokenBucket: {maxTokens: 5, fillInterval: 1s}
${extra}`;
  const GLOBAL = `  global:
    service: 127.0.0.1:8081
    domain: d
    rules:
    - name: per-user
      descriptor: [{requestHeader: {name: x-user}}]
`;
  const names = (c: { rateLimit?: { local: readonly { name: string }[] }; inboundRateLimit?: { local: readonly { name: string }[] } }) =>
    ({ out: c.rateLimit?.local.map((r) => r.name) ?? null, in: c.inboundRateLimit?.local.map((r) => r.name) ?? null });

  it.each([
    ['', {}, { out: ['default/p/local/all'], in: null }],
    ['', { gateway: 'gw' }, { out: ['default/p/local/all'], in: null }],
    ['SIDECAR_INBOUND', {}, { out: null, in: ['default/p/local/all'] }],
    ['SIDECAR_INBOUND', { gateway: 'gw' }, { out: null, in: null }],
    ['SIDECAR_OUTBOUND', {}, { out: ['default/p/local/all'], in: null }],
    ['SIDECAR_OUTBOUND', { gateway: 'gw' }, { out: null, in: null }],
    ['GATEWAY', {}, { out: null, in: null }],
    ['GATEWAY', { gateway: 'gw' }, { out: ['default/p/local/all'], in: null }],
    ['ANY', {}, { out: ['default/p/local/all'], in: ['default/p/local/all'] }],
    ['ANY', { gateway: 'gw' }, { out: ['default/p/local/all'], in: null }],
  ] as Array<[string, LoadOptions, unknown]>)('context %s, options %j', (context, options, want) => {
    const gateway = `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`;
    const { dir } = tempYaml({ 'a.yaml': SERVICE + gateway, 'b.yaml': HEAD + policy(context) });
    expect(names(loadConfig([dir], options).mesh)).toEqual(want);
  });

  it('SIDECAR_INBOUND: a service keeps its proxy-wide descriptors for the inbound; a route reference is a located error', () => {
    const { mesh } = load(policy('SIDECAR_INBOUND', GLOBAL));
    expect(mesh.inboundRateLimit?.services.map((s) => [s.host, s.port, s.rules.map((r) => r.name)])).toEqual([['127.0.0.1', 8081, ['default/p/global/per-user']]]);
    expect(mesh.rateLimit).toBeUndefined();
    expect(mesh.virtualHosts.flatMap((v) => v.routes).some((r) => r.rateLimit !== undefined)).toBe(false);
    expect(issuesOf(policy('SIDECAR_INBOUND', '    - name: v1\n      route: {virtualService: reviews, name: v1}\n      tokenBucket: {maxTokens: 1, fillInterval: 1s}\n'))).toEqual([
      '11 spec.local.rules[1].route: a SIDECAR_INBOUND policy applies to every request of the workload: its inbound routes are not VirtualService routes [invalid_value]',
    ]);
    expect(issuesOf('metadata: {name: p}\nspec:\n  context: INBOUND\n  local:\n    rules:\n    - tokenBucket: {maxTokens: 1, fillInterval: 1s}\n')[0]).toMatch(/^5 spec\.context: .*SIDECAR_INBOUND/);
  });

  it('ANY: route rules stay on the outbound routes; the inbound takes the rules for every request', () => {
    const { mesh } = load(policy('ANY', '    - name: v1\n      route: {virtualService: reviews, name: v1}\n      tokenBucket: {maxTokens: 1, fillInterval: 1s}\n'));
    expect(mesh.inboundRateLimit?.local.map((r) => r.name)).toEqual(['default/p/local/all']);
    expect(mesh.virtualHosts.flatMap((v) => v.routes).find((r) => r.name === 'default/reviews/v1')?.rateLimit?.local.map((r) => r.name)).toEqual(['default/p/local/v1@default/reviews/v1']);
  });
});
