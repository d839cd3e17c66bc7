// RateLimitPolicy for stock Envoy: the per-route local_ratelimit configs (buckets, dynamic
// descriptors, rate_limits actions), the ratelimit filters and their gRPC clusters, the
// resources encodable for the control plane's xDS, and the real Envoy accepting the bootstrap.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { LOCAL_RATE_LIMIT_FILTER, LOCAL_STAGE } from '../../host/envoy/rate-limit-policy.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec:
  hosts: [web.default.svc.cluster.local]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web.default.svc.cluster.local]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    route: [{destination: {host: web.default.svc.cluster.local}}]
  - route: [{destination: {host: web.default.svc.cluster.local}}]
---
apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: limits}
spec:
  local:
    maxDynamicDescriptors: 100
    rules:
    - tokenBucket: {maxTokens: 50, tokensPerFill: 5, fillInterval: 1s}
    - name: api-per-user
      route: {virtualService: web, name: api}
      descriptor: [{requestHeader: {name: x-user, descriptorKey: user}}, {sourcePrincipal: {}}]
      tokenBucket: {maxTokens: 2, fillInterval: 1m}
  global:
    service: ratelimit.rls.svc.cluster.local:8081
    domain: web
    timeout: 100ms
    failureModeDeny: true
    rules:
    - descriptor: [{remoteAddress: {}}]
    - route: {virtualService: web, name: api}
      descriptor: [{genericKey: {value: api}}, {path: {}}]
`;

const opts = { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 } };
const loaded = loadConfig([tempYaml({ 'a.yaml': YAML }).dir], {});
const boot = envoyBootstrap(loaded, opts);
/* eslint-disable @typescript-eslint/no-explicit-any */
const hcm = (boot.config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const routes: any[] = hcm.route_config.virtual_hosts.flatMap((vh: any) => vh.routes);
const api = routes.find((r) => r.name === 'default/web/api');
const other = routes.find((r) => r.name === 'default/web/1');

describe('RateLimitPolicy → Envoy', () => {
  it('the chain: local_ratelimit, then the ratelimit filter (domain, timeout, failure mode, its cluster), then the router', () => {
    expect(hcm.http_filters.map((f: any) => f.name)).toEqual([LOCAL_RATE_LIMIT_FILTER, 'envoy.filters.http.ratelimit', 'envoy.filters.http.router']);
    const rl = hcm.http_filters[1].typed_config;
    expect(rl.type_url).toBe('type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit');
    expect(rl.value).toEqual({
      domain: 'web', stage: 0, timeout: '0.1s', failure_mode_deny: true, enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: 'outbound|8081||ratelimit.ratelimit.rls.svc.cluster.local', authority: 'ratelimit.rls.svc.cluster.local:8081' } }, transport_api_version: 'V3' },
    });
    const cluster = (boot.config as any).static_resources.clusters.find((c: any) => c.name === 'outbound|8081||ratelimit.ratelimit.rls.svc.cluster.local');
    expect(cluster.type).toBe('STRICT_DNS');
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toEqual({ http2_protocol_options: {} });
  });

  it('every route gets the proxy-wide bucket; the named route its per-user descriptor (dynamic values, bound) and its actions', () => {
    const local = (r: any) => r.typed_per_filter_config[LOCAL_RATE_LIMIT_FILTER].value;
    expect(local(other).token_bucket).toEqual({ max_tokens: 50, tokens_per_fill: 5, fill_interval: '1s' });
    expect(local(other).descriptors).toEqual([]);
    expect(local(api).descriptors).toEqual([{ entries: [{ key: 'user' }, { key: 'source_principal' }], token_bucket: { max_tokens: 2, tokens_per_fill: 1, fill_interval: '60s' } }]);
    expect(local(api).max_dynamic_descriptors).toBe(100);
    expect(local(api)).toMatchObject({ stage: LOCAL_STAGE, enable_x_ratelimit_headers: 'DRAFT_VERSION_03', filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } } });
    expect(api.route.rate_limits).toEqual([
      { stage: LOCAL_STAGE, actions: [{ request_headers: { header_name: 'x-user', descriptor_key: 'user' } }, { extension: expect.objectContaining({ name: 'envoy.rate_limit_descriptors.expr' }) }] },
      { stage: 0, actions: [{ remote_address: {} }] },
      { stage: 0, actions: [{ generic_key: { descriptor_value: 'api', descriptor_key: 'generic_key' } }, { request_headers: { header_name: ':path', descriptor_key: 'path' } }] },
    ]);
    expect(other.route.rate_limits).toEqual([{ stage: 0, actions: [{ remote_address: {} }] }]);
    expect(boot.warnings.some((w) => /sourcePrincipal is sent by Envoy as the peer certificate's URI SAN/.test(w))).toBe(true);
  });

  it('a second rule without descriptor becomes a generic_key descriptor every request produces', () => {
    const two = loadConfig([tempYaml({ 'a.yaml': YAML.split('---\napiVersion: policy')[0] + `---
apiVersion: policy.wasmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: two}
spec:
  local:
    rules:
    - tokenBucket: {maxTokens: 10, fillInterval: 1s}
    - tokenBucket: {maxTokens: 3, fillInterval: 1s}
` }).dir], {});
    const r = (envoyBootstrap(two, opts).config as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0];
    const local = r.typed_per_filter_config[LOCAL_RATE_LIMIT_FILTER].value;
    expect(local.token_bucket.max_tokens).toBe(10);
    expect(local.descriptors).toEqual([{ entries: [{ key: 'wasmesh_local_rule', value: 'default/two/local/1' }], token_bucket: { max_tokens: 3, tokens_per_fill: 1, fill_interval: '1s' } }]);
    expect(r.route.rate_limits).toEqual([{ stage: LOCAL_STAGE, actions: [{ generic_key: { descriptor_value: 'default/two/local/1', descriptor_key: 'wasmesh_local_rule' } }] }]);
  });

  it('the control plane can encode the listener, routes and clusters (filter configs as TypedStruct)', () => {
    const r = envoyXdsResources(boot.config as Record<string, unknown>);
    const root = envoyProtos();
    expect(anyFromJson(root, TYPE_URL.listener, r.listeners[0]).value.length).toBeGreaterThan(0);
    for (const rc of r.routes) expect(anyFromJson(root, TYPE_URL.route, rc).value.length).toBeGreaterThan(0);
    for (const c of r.clusters) expect(anyFromJson(root, TYPE_URL.cluster, c).value.length).toBeGreaterThan(0);
  });
});

const envoy = envoyForTests('rate-limit-policy');
describe.skipIf(envoy === null)('RateLimitPolicy bootstrap on the real Envoy', () => {
  it('envoy --mode validate accepts it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wasmesh-rl-envoy-')), 'b.yaml');
    writeFileSync(file, boot.yaml);
    const { stdout, stderr } = await promisify(execFile)(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 20_000 });
    expect(stdout + stderr).toContain('OK');
  });
});

describe.skipIf(envoy === null)('RateLimitPolicy global rules on the real Envoy', () => {
  it('Envoy asks the same gRPC rate limit service wasmesh asks, and answers 429 on OVER_LIMIT', async () => {
    const { spawn } = await import('node:child_process');
    const http = await import('node:http');
    const { request } = await import('../helpers/http-client.js');
    const { freePort } = await import('../helpers/ports.js');
    const { budgetDecider, perUserGlobalLimitYaml, startRateLimitServer } = await import('../helpers/rate-limit-server.js');
    const rls = await startRateLimitServer(budgetDecider(2));
    const up = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
    const upPort = (up.address() as { port: number }).port;
    const [listen, admin] = [await freePort(), await freePort()];
    const yaml = perUserGlobalLimitYaml(upPort, rls.port);
    const b = envoyBootstrap(loadConfig([tempYaml({ 'a.yaml': yaml }).dir], {}), { listen: { host: '127.0.0.1', port: listen }, admin: { host: '127.0.0.1', port: admin } });
    const file = join(mkdtempSync(join(tmpdir(), 'wasmesh-rl-envoy-')), 'b.yaml');
    writeFileSync(file, b.yaml);
    const proc = spawn(envoy!, ['-c', file, '-l', 'error', '--disable-hot-restart'], { stdio: 'ignore' });
    try {
      const end = Date.now() + 15_000;
      for (;;) {
        const ready = await request(admin, { path: '/ready' }).then((r) => r.status === 200, () => false);
        if (ready) break;
        if (Date.now() > end) throw new Error('Envoy did not get ready');
        await new Promise((r) => setTimeout(r, 100));
      }
      const as = (u: string) => request(listen, { headers: { 'x-user': u } });
      const statuses = [(await as('a')).status, (await as('a')).status];
      const over = await as('a');
      expect([...statuses, over.status, (await as('b')).status]).toEqual([200, 200, 429, 200]);
      expect(over.headers['x-envoy-ratelimited']).toBe('true');
      expect(rls.requests.map((r) => [r.domain, r.descriptors])).toEqual([['web', [[['user', 'a']]]], ['web', [[['user', 'a']]]], ['web', [[['user', 'a']]]], ['web', [[['user', 'b']]]]]);
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      await rls.close();
      up.close();
    }
  }, 30_000);
});
