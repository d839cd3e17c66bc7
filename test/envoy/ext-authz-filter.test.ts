// AuthorizationPolicy CUSTOM for stock Envoy as istiod writes it (builder testdata custom-*):
// per provider an RBAC filter with shadow DENY rules named istio-ext-authz-<provider>-…, then
// ext_authz enabled by the metadata those rules record; what Istio cannot build becomes its
// "bad CUSTOM" DENY rules. Real Envoy accepts the HTTP and gRPC forms.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyExtAuthzFilters } from '../../host/envoy/ext-authz-filter.js';
import type { AuthzPolicy } from '../../host/model/authorization.js';
import type { Cluster } from '../../host/model/mesh.js';
import type { ExtAuthzProvider } from '../../host/model/mesh-settings.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { anyFromJson } from '../../host/xds/proto-json.js';

type O = Record<string, any>;
const HOST = 'ext-authz.foo.svc.cluster.local';
const cluster = (port: number): Cluster => ({ name: `outbound|${port}||${HOST}`, host: HOST, port, subset: null, endpoints: [{ address: '127.0.0.1', port, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' } as unknown as Cluster);
const provider = (over: Partial<ExtAuthzProvider>): ExtAuthzProvider => ({
  name: 'http-authz', kind: 'http', service: HOST, port: 8000, timeoutMs: 600_000, failOpen: false, statusOnError: 403, pathPrefix: '/check',
  includeRequestHeadersInCheck: ['x-ext-authz', 'x-b3-*'], headersToUpstreamOnAllow: ['x-ext-authz-check-result'], headersToDownstreamOnDeny: ['*-result'], maxRequestBytes: null, ...over,
});
const custom = (name: string, prov: string, over: Partial<AuthzPolicy> = {}): AuthzPolicy => ({
  name, action: 'CUSTOM', provider: prov, dryRun: false, rules: [{ from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'prefix', value: '/admin' }], notValues: [] }]], when: [] }], ...over,
});

describe('CUSTOM → RBAC shadow rules and ext_authz', () => {
  it('an HTTP provider: shadow DENY rules with Istio\'s names and stat prefix, then ext_authz on the provider\'s cluster', () => {
    const warnings: string[] = [];
    const [rbacFilter, extAuthz] = envoyExtAuthzFilters([custom('foo/ext', 'http-authz')], { providers: [provider({})], clusters: [cluster(8000)], warnings });
    expect(warnings).toEqual([]);
    expect(rbacFilter).toEqual({
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
        shadow_rules: { action: 'DENY', policies: { 'istio-ext-authz-http-authz-ns[foo]-policy[ext]-rule[0]': { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }] } }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] } } },
        shadow_rules_stat_prefix: 'istio_ext_authz_',
      },
    });
    expect(extAuthz).toEqual({
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
        status_on_error: { code: 403 },
        failure_mode_allow: false,
        transport_api_version: 'V3',
        filter_enabled_metadata: { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz-http-authz' } } },
        http_service: {
          path_prefix: '/check',
          server_uri: { uri: `http://${HOST}`, cluster: `outbound|8000||${HOST}`, timeout: '600s' },
          authorization_response: { allowed_upstream_headers: { patterns: [{ exact: 'x-ext-authz-check-result', ignore_case: true }] }, allowed_client_headers: { patterns: [{ suffix: '-result', ignore_case: true }] } },
        },
        allowed_headers: { patterns: [{ exact: 'x-ext-authz', ignore_case: true }, { prefix: 'x-b3-', ignore_case: true }] },
      },
    });
  });

  it('a gRPC provider: envoy_grpc to the cluster with the service as authority; failOpen, statusOnError, body, timeout', () => {
    const [, extAuthz] = envoyExtAuthzFilters([custom('foo/ext', 'grpc-authz')], { providers: [provider({ name: 'grpc-authz', kind: 'grpc', port: 9000, failOpen: true, statusOnError: 503, timeoutMs: 250, maxRequestBytes: 4096 })], clusters: [cluster(9000)], warnings: [] });
    expect(extAuthz!.typed_config).toMatchObject({
      grpc_service: { envoy_grpc: { cluster_name: `outbound|9000||${HOST}`, authority: HOST }, timeout: '0.25s' },
      failure_mode_allow: true,
      status_on_error: { code: 503 },
      with_request_body: { max_request_bytes: 4096 },
    });
    expect((extAuthz!.typed_config as O).http_service).toBeUndefined();
  });

  it('a provider without a cluster, or several providers: Istio\'s bad-CUSTOM DENY rules, with a warning', () => {
    const warnings: string[] = [];
    const [f] = envoyExtAuthzFilters([custom('foo/ext', 'http-authz')], { providers: [provider({})], clusters: [], warnings });
    expect(f!.typed_config).toMatchObject({ rules: { action: 'DENY', policies: { 'istio-ext-authz-http-authz-ns[foo]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action': expect.anything() } } });
    expect(warnings).toEqual([expect.stringMatching(/no cluster for its service ext-authz.foo.svc.cluster.local:8000; as Istio, requests its policies match are denied/)]);
    const two = envoyExtAuthzFilters([custom('foo/a', 'p1'), custom('foo/b', 'p2')], { providers: [provider({ name: 'p1' }), provider({ name: 'p2' })], clusters: [cluster(8000)], warnings });
    expect(two.map((x) => Object.keys((x.typed_config as O).rules.policies))).toEqual([
      ['istio-ext-authz-p1-ns[foo]-policy[a]-rule[0]-deny-due-to-bad-CUSTOM-action'],
      ['istio-ext-authz-p2-ns[foo]-policy[b]-rule[0]-deny-due-to-bad-CUSTOM-action'],
    ]);
  });

  it('no CUSTOM policy: no filter; a dry-run CUSTOM policy is refused (never served open)', () => {
    expect(envoyExtAuthzFilters([{ ...custom('foo/x', 'p'), action: 'DENY', provider: null }], { providers: [], clusters: [], warnings: [] })).toEqual([]);
    expect(() => envoyExtAuthzFilters([custom('foo/dry', 'http-authz', { dryRun: true })], { providers: [provider({})], clusters: [cluster(8000)], warnings: [] })).toThrow(/AuthorizationPolicy foo\/dry: a dry-run CUSTOM policy has no Envoy form.*\[envoy_config_authz_custom\]/);
  });

  it('in a gateway\'s chain: CUSTOM\'s pair first, then the RBAC filters, then the router', () => {
    const deny: AuthzPolicy = { name: 'foo/deny', action: 'DENY', provider: null, dryRun: false, rules: [{ from: [], to: [], when: [] }] };
    const mesh = { virtualHosts: [], clusters: [cluster(8000)], authorization: [custom('foo/ext', 'http-authz'), deny], extAuthzProviders: [provider({})] };
    const { config } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
    const names = (config as O).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.map((f: O) => f.name);
    expect(names).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
  });
});

describe('over xDS', () => {
  it('the gateway listener with CUSTOM encodes as Envoy\'s Listener (the control plane\'s path), ext_authz config intact', () => {
    const mesh = { virtualHosts: [], clusters: [cluster(8000)], authorization: [custom('foo/ext', 'authz')], extAuthzProviders: [provider({ name: 'authz', kind: 'grpc' })] };
    const { config } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
    const r = envoyXdsResources(config as Record<string, unknown>);
    const root = envoyProtos();
    const listener = root.lookupType('envoy.config.listener.v3.Listener').decode(anyFromJson(root, TYPE_URL.listener, r.listeners[0]!).value) as O;
    const hcm = root.lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager').decode(listener.filter_chains[0].filters[0].typed_config.value) as O;
    const ext = (hcm.http_filters as O[]).find((f) => f.name === 'envoy.filters.http.ext_authz')!;
    const decoded = root.lookupType('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz').decode(ext.typed_config.value) as O;
    expect(decoded.grpc_service.envoy_grpc.cluster_name).toBe(`outbound|8000||${HOST}`);
    expect(decoded.filter_enabled_metadata.value.string_match.prefix).toBe('istio-ext-authz-authz');
  });
});

const run = promisify(execFile);
const envoy = envoyForTests('ext-authz-filter');

describe.skipIf(envoy === null)('envoy --mode validate accepts CUSTOM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-extauthz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const kind of ['http', 'grpc'] as const) {
    it(`${kind} provider`, async () => {
      const mesh = { virtualHosts: [], clusters: [cluster(8000)], authorization: [custom('foo/ext', 'authz')], extAuthzProviders: [provider({ name: 'authz', kind, maxRequestBytes: 1024 })] };
      const { yaml } = envoyBootstrap({ mesh }, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
      const file = join(dir, `${kind}.yaml`);
      writeFileSync(file, yaml);
      const out = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 30_000 }).then(
        (r) => ({ ok: true, text: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, text: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` }),
      );
      expect(out.ok, out.text).toBe(true);
    }, 40_000);
  }
});
