// AuthorizationPolicy → Envoy's RBAC HTTP filters as istiod writes them (builder testdata
// allow-full-rule, dry-run-*, deny-and-allow): filter order and actions, policy names, shadow
// rules, every principal and permission form; the filters inside the inbound listener and a
// gateway's bootstrap, encoded by the real protos (the control plane's path) and accepted by the
// real Envoy's `--mode validate`.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { authorizationPolicies } from '../../host/config/translate/authorization.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyInbound } from '../../host/envoy/inbound-listener.js';
import { envoyRbacFilters, rbacPolicyName } from '../../host/envoy/rbac-policy.js';
import { sdsCluster } from '../../host/envoy/sds-config.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import { DEFAULT_MESH_SETTINGS } from '../../host/model/mesh-settings.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const AP = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n';

/** The policies a sidecar default/app=web with an identity enforces for `yaml`. */
function policies(yaml: string): AuthzPolicy[] {
  const read = readConfig([tempYaml({ 'p.yaml': yaml }).dir]);
  const issues: never[] = [];
  const out = authorizationPolicies(read.effective, { settings: DEFAULT_MESH_SETTINGS, proxy: { namespace: 'foo', labels: { app: 'httpbin' }, trustDomain: 'cluster.local', peerIdentity: true }, issues, warnings: [] });
  expect(issues).toEqual([]);
  return out;
}

type O = Record<string, any>;
const rulesOf = (filter: O): Record<string, O> => filter.typed_config.rules.policies;

describe('filters: order, actions, names, shadow rules', () => {
  it('no policy, no filter; AUDIT (LOG), DENY, ALLOW each one filter, in that order, policies named as Istio names them', () => {
    expect(envoyRbacFilters(undefined)).toEqual([]);
    expect(envoyRbacFilters([])).toEqual([]);
    const filters = envoyRbacFilters(policies(`${AP}metadata: {name: allow, namespace: foo}
spec: {rules: [{}, {to: [{operation: {methods: [GET]}}]}]}
---
${AP}metadata: {name: deny, namespace: foo}
spec: {action: DENY, rules: [{to: [{operation: {paths: [/admin*]}}]}]}
---
${AP}metadata: {name: audit, namespace: foo}
spec: {action: AUDIT, rules: [{}]}
`));
    expect(filters.map((f) => [f.name, (f.typed_config as O)['@type'], (f.typed_config as O).rules.action, Object.keys(rulesOf(f))])).toEqual([
      ['envoy.filters.http.rbac', 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', 'LOG', ['ns[foo]-policy[audit]-rule[0]']],
      ['envoy.filters.http.rbac', 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', 'DENY', ['ns[foo]-policy[deny]-rule[0]']],
      ['envoy.filters.http.rbac', 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', 'ALLOW', ['ns[foo]-policy[allow]-rule[0]', 'ns[foo]-policy[allow]-rule[1]']],
    ]);
    // An empty rule: any permission, any principal (Istio's and_rules/and_ids of `any`).
    expect(rulesOf(filters[2]!)['ns[foo]-policy[allow]-rule[0]']).toEqual({ permissions: [{ and_rules: { rules: [{ any: true }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] });
    expect(rulesOf(filters[1]!)['ns[foo]-policy[deny]-rule[0]']!.permissions).toEqual([{ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }] } }]);
  });

  it('allow-nothing (spec {}) is Istio\'s never-matching rule[0]: with ALLOW, everything is denied', () => {
    const [f] = envoyRbacFilters(policies(`${AP}metadata: {name: allow-nothing, namespace: foo}\nspec: {}\n`));
    expect(f!.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      rules: { action: 'ALLOW', policies: { 'ns[foo]-policy[allow-nothing]-rule[0]': { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } } },
    });
  });

  it('dry-run policies go to shadow_rules with Istio\'s stat prefixes; enforced ones of the same action stay in rules', () => {
    const filters = envoyRbacFilters(policies(`${AP}metadata: {name: dry-deny, namespace: foo, annotations: {istio.io/dry-run: "true"}}
spec: {action: DENY, rules: [{}]}
---
${AP}metadata: {name: dry-allow, namespace: foo, annotations: {istio.io/dry-run: "true"}}
spec: {rules: [{}]}
---
${AP}metadata: {name: allow, namespace: foo}
spec: {rules: [{}]}
`));
    const [deny, allow] = filters.map((f) => f.typed_config as O);
    expect(deny!.rules).toBeUndefined();
    expect(deny!.shadow_rules.action).toBe('DENY');
    expect(Object.keys(deny!.shadow_rules.policies)).toEqual(['ns[foo]-policy[dry-deny]-rule[0]']);
    expect(deny!.shadow_rules_stat_prefix).toBe('istio_dry_run_deny_');
    expect(Object.keys(allow!.rules.policies)).toEqual(['ns[foo]-policy[allow]-rule[0]']);
    expect(Object.keys(allow!.shadow_rules.policies)).toEqual(['ns[foo]-policy[dry-allow]-rule[0]']);
    expect(allow!.shadow_rules_stat_prefix).toBe('istio_dry_run_allow_');
  });

  it('CUSTOM is not among the RBAC filters (ext-authz-filter.ts builds it); handed one anyway, it throws rather than drop it', () => {
    const custom: AuthzPolicy = { name: 'foo/ext', action: 'CUSTOM', rules: [{ from: [], to: [], when: [] }], dryRun: false, provider: 'opa' };
    expect(() => envoyRbacFilters([custom])).toThrow(/AuthorizationPolicy foo\/ext: action CUSTOM is not an RBAC filter of its own.*\[envoy_config_authz_custom\]/);
    expect(rbacPolicyName(custom, 3)).toBe('ns[foo]-policy[ext]-rule[3]');
  });
});

describe('principals and permissions, as Istio\'s builder writes them', () => {
  const [filter] = envoyRbacFilters(policies(`${AP}metadata: {name: full, namespace: foo}
spec:
  rules:
  - from:
    - source:
        principals: ["principal", "principal-prefix-*", "*-suffix-principal", "*"]
        notPrincipals: ["not-principal"]
        requestPrincipals: ["iss/sub", "iss/*", "*/sub", "*"]
        namespaces: ["ns", "ns-prefix-*", "*"]
        remoteIpBlocks: ["1.2.3.4"]
        ipBlocks: ["5.6.0.0/16"]
    to:
    - operation:
        hosts: ["exact.com", "*.suffix.com", "*"]
        methods: ["GET"]
        paths: ["/exact", "*/suffix", "*", "/path/template/{*}", "/{**}/tail"]
        ports: ["80"]
        notPorts: ["8000"]
    when:
    - {key: "request.headers[X-Header]", values: ["h*"], notValues: ["*"]}
    - {key: request.auth.audiences, values: [aud1, "aud-*"]}
    - {key: request.auth.presenter, values: [azp]}
    - {key: "request.auth.claims[nested1][nested2]", notValues: [n]}
    - {key: destination.ip, values: [10.0.0.0/8]}
    - {key: destination.port, values: ["91"]}
    - {key: connection.sni, values: ["*.sni.com"]}
    - {key: source.namespace, values: [other]}
`));
  const policy = rulesOf(filter!)['ns[foo]-policy[full]-rule[0]']!;
  const permission = policy.permissions[0].and_rules.rules as O[];
  const principal = policy.principals[0].and_ids.ids as O[];
  const meta = (path: string[], value: O): O => ({ metadata: { filter: 'envoy.filters.http.jwt_authn', path: ['payload', ...path].map((key) => ({ key })), value } });

  it('hosts on :authority ignoring case, methods, paths (url_path, uri_template), ports; when-conditions on the destination after them', () => {
    expect(permission).toEqual([
      { or_rules: { rules: [
        { header: { name: ':authority', string_match: { exact: 'exact.com', ignore_case: true } } },
        { header: { name: ':authority', string_match: { suffix: '.suffix.com', ignore_case: true } } },
        { header: { name: ':authority', present_match: true } },
      ] } },
      { or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } },
      { or_rules: { rules: [
        { url_path: { path: { exact: '/exact' } } },
        { url_path: { path: { suffix: '/suffix' } } },
        { url_path: { path: { safe_regex: { regex: '.+' } } } },
        { uri_template: { name: 'uri-template', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', path_template: '/path/template/*' } } },
        { uri_template: { name: 'uri-template', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig', path_template: '/**/tail' } } },
      ] } },
      { or_rules: { rules: [{ destination_port: 80 }] } },
      { not_rule: { or_rules: { rules: [{ destination_port: 8000 }] } } },
      { or_rules: { rules: [{ destination_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }] } },
      { or_rules: { rules: [{ destination_port: 91 }] } },
      { or_rules: { rules: [{ requested_server_name: { suffix: '.sni.com' } }] } },
    ]);
  });

  it('principals on spiffe://, request principals on the jwt_authn payload\'s iss and sub, namespaces as a regex, remote_ip, direct_remote_ip', () => {
    expect(principal.slice(0, 6)).toEqual([
      { or_ids: { ids: [
        { authenticated: { principal_name: { exact: 'spiffe://principal' } } },
        { authenticated: { principal_name: { prefix: 'spiffe://principal-prefix-' } } },
        { authenticated: { principal_name: { safe_regex: { regex: 'spiffe://.*-suffix-principal' } } } },
        { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } },
      ] } },
      { not_id: { or_ids: { ids: [{ authenticated: { principal_name: { exact: 'spiffe://not-principal' } } }] } } },
      { or_ids: { ids: [
        { and_ids: { ids: [meta(['iss'], { string_match: { exact: 'iss' } }), meta(['sub'], { string_match: { exact: 'sub' } })] } },
        { and_ids: { ids: [meta(['iss'], { string_match: { exact: 'iss' } }), meta(['sub'], { string_match: { safe_regex: { regex: '.+' } } })] } },
        { and_ids: { ids: [meta(['iss'], { string_match: { safe_regex: { regex: '.+' } } }), meta(['sub'], { string_match: { exact: 'sub' } })] } },
        { and_ids: { ids: [meta(['iss'], { string_match: { safe_regex: { regex: '.+' } } }), meta(['sub'], { string_match: { safe_regex: { regex: '.+' } } })] } },
      ] } },
      { or_ids: { ids: [
        { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/ns/.*' } } } },
        { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/ns-prefix-.*/.*' } } } },
        { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/.*/.*' } } } },
      ] } },
      { or_ids: { ids: [{ remote_ip: { address_prefix: '1.2.3.4', prefix_len: 32 } }] } },
      { or_ids: { ids: [{ direct_remote_ip: { address_prefix: '5.6.0.0', prefix_len: 16 } }] } },
    ]);
  });

  it('when-conditions on the caller after the source: headers, audiences/presenter/claims as the payload\'s list-or-value', () => {
    const both = (v: O): O => ({ or_match: { value_matchers: [{ list_match: { one_of: v } }, v] } });
    expect(principal.slice(6)).toEqual([
      { or_ids: { ids: [{ header: { name: 'x-header', string_match: { prefix: 'h' } } }] } },
      { not_id: { or_ids: { ids: [{ header: { name: 'x-header', present_match: true } }] } } },
      meta(['aud'], both({ or_match: { value_matchers: [{ string_match: { exact: 'aud1' } }, { string_match: { prefix: 'aud-' } }] } })),
      meta(['azp'], both({ string_match: { exact: 'azp' } })),
      { not_id: meta(['nested1', 'nested2'], both({ string_match: { exact: 'n' } })) },
      { or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/other/.*' } } } }] } },
    ]);
  });

  it('a rule with several sources and operations: one Envoy principal / permission each, the when-conditions in every one', () => {
    const [f] = envoyRbacFilters(policies(`${AP}metadata: {name: two, namespace: foo}
spec:
  action: DENY
  rules:
  - from: [{source: {ipBlocks: [1.1.1.1]}}, {source: {namespaces: [a.b]}}]
    to: [{operation: {methods: [GET]}}, {operation: {ports: ["1"]}}]
    when: [{key: source.ip, values: [2.2.2.2]}, {key: destination.port, values: ["2"]}]
`));
    const p = rulesOf(f!)['ns[foo]-policy[two]-rule[0]']!;
    expect(p.permissions.map((x: O) => x.and_rules.rules.length)).toEqual([2, 2]);
    expect(p.principals.map((x: O) => x.and_ids.ids.length)).toEqual([2, 2]);
    expect(p.principals[1].and_ids.ids[0].or_ids.ids[0].authenticated.principal_name.safe_regex.regex).toBe('.*/ns/a\\.b/.*');
    expect(p.principals[1].and_ids.ids[1]).toEqual({ or_ids: { ids: [{ direct_remote_ip: { address_prefix: '2.2.2.2', prefix_len: 32 } }] } });
  });
});

// ---- the filters where a proxy uses them ------------------------------------------------------

const FULL = `${AP}metadata: {name: deny-admin, namespace: foo}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: [/admin*, "/private/{**}"]}}], when: [{key: "request.auth.claims[groups]", values: [guest]}]}]
---
${AP}metadata: {name: allow, namespace: foo}
spec:
  rules:
  - from: [{source: {principals: [cluster.local/ns/foo/sa/sleep], requestPrincipals: ["*"]}}, {source: {remoteIpBlocks: [10.0.0.0/8]}}]
    to: [{operation: {methods: [GET], hosts: ["*.example.com"], ports: ["8080"]}}]
    when: [{key: connection.sni, values: [x.example.com]}, {key: destination.ip, values: ["::1"]}]
---
${AP}metadata: {name: audit, namespace: foo, annotations: {istio.io/dry-run: "true"}}
spec: {action: AUDIT, rules: [{}]}
`;
const listen = { host: '127.0.0.1', port: 15006 };

describe('in the inbound listener and a gateway', () => {
  it('the inbound listener runs the RBAC filters before the router in every HTTP filter chain, and the network RBAC filters before tcp_proxy in the TCP one', () => {
    const { listener } = envoyInbound({ listen, appPorts: [8080], mode: 'PERMISSIVE', authorization: policies(FULL) });
    const chains = (listener.filter_chains as O[]).map((c) => c.filters.at(-1).name === 'envoy.filters.network.tcp_proxy'
      ? c.filters.map((f: O) => f.name)
      : c.filters[0].typed_config.http_filters.map((f: O) => f.name));
    expect(chains).toEqual([
      ['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.router'],
      ['envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy'],
      ['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.router'],
    ]);
    expect(envoyInbound({ listen, appPorts: [8080], mode: 'DISABLE' }).listener.filter_chains).toMatchObject([{ filters: [{ typed_config: { http_filters: [{ name: 'envoy.filters.http.router' }] } }] }]);
  });

  it('split for xDS, the listener encodes as Envoy\'s Listener with the RBAC configs (the control plane\'s path)', () => {
    const { listener, clusters } = envoyInbound({ listen, appPorts: [8080], mode: 'STRICT', authorization: policies(FULL) });
    const r = envoyXdsResources({ static_resources: { listeners: [listener], clusters } });
    const bytes = anyFromJson(envoyProtos(), TYPE_URL.listener, r.listeners[0]!).value;
    const decoded = envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(bytes) as O;
    const hcmAny = decoded.filter_chains[0].filters[0].typed_config;
    const hcm = envoyProtos().lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager').decode(hcmAny.value) as O;
    const rbacs = (hcm.http_filters as O[]).filter((f) => f.name === 'envoy.filters.http.rbac');
    expect(rbacs.length).toBe(3);
    const deny = envoyProtos().lookupType('envoy.extensions.filters.http.rbac.v3.RBAC').decode(rbacs[1]!.typed_config.value) as O;
    expect(Object.keys(deny.rules.policies)).toEqual(['ns[foo]-policy[deny-admin]-rule[0]']);
    const template = deny.rules.policies['ns[foo]-policy[deny-admin]-rule[0]'].permissions[0].and_rules.rules[0].or_rules.rules[1].uri_template;
    expect(template.typed_config.type_url).toBe('type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig');
  });

  it('a gateway bootstrap puts them first in its chain; the mesh outbound listener has none', () => {
    const mesh = { virtualHosts: [], clusters: [], authorization: policies(FULL) };
    const gw = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
    const names = (c: O) => c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.map((f: O) => f.name);
    expect(names(gw.config)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
    const outbound = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } });
    expect(names(outbound.config)).toEqual(['envoy.filters.http.router']);
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('rbac-policy');

describe.skipIf(envoy === null)('envoy --mode validate accepts the RBAC filters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-rbac-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  async function validate(config: O | string, name: string): Promise<{ ok: boolean; text: string }> {
    const file = join(dir, typeof config === 'string' ? `${name}.yaml` : `${name}.json`);
    writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
    return run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 30_000 }).then(
      (r) => ({ ok: true, text: r.stdout + r.stderr }),
      (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
    );
  }

  it('an inbound listener with every principal and permission form', async () => {
    const { listener, clusters } = envoyInbound({ listen, appPorts: [8080], mode: 'PERMISSIVE', authorization: policies(FULL) });
    const config = { node: { id: 'sidecar~127.0.0.1~app.foo~foo.svc.cluster.local', cluster: 'app.foo' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { listeners: [listener], clusters: [...clusters, sdsCluster(join(dir, 'socket'))] } };
    const out = await validate(config, 'inbound');
    expect(out.ok, out.text).toBe(true);
  }, 40_000);

  it('a gateway bootstrap with allow-nothing and a dry-run DENY', async () => {
    const mesh = { virtualHosts: [], clusters: [], authorization: policies(`${AP}metadata: {name: allow-nothing, namespace: foo}\nspec: {}\n---\n${AP}metadata: {name: d, namespace: foo, annotations: {istio.io/dry-run: "1"}}\nspec: {action: DENY, rules: [{from: [{source: {notNamespaces: [foo]}}]}]}\n`) };
    const { yaml } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
    const out = await validate(yaml, 'gateway');
    expect(out.ok, out.text).toBe(true);
  }, 40_000);

  it('the check can fail: Envoy rejects a bad path template', async () => {
    const bad: AuthzPolicy = { name: 'foo/bad', action: 'ALLOW', dryRun: false, provider: null, rules: [{ from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'template', value: '/{**}/{*}' }], notValues: [] }]], when: [] }] };
    const { listener, clusters } = envoyInbound({ listen, appPorts: [8080], mode: 'DISABLE', authorization: [bad] });
    const out = await validate({ admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } }, static_resources: { listeners: [listener], clusters } }, 'bad');
    expect(out.ok).toBe(false);
  }, 40_000);
});
