// `wasmesh envoy-config --filters` below the process: Envoy routes keyed by the router's
// headers with cluster_header, the native translation's actions kept (per destination where
// destinations edit headers), the filters' chain, and the plugin configuration carrying the
// compiled route table unchanged.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { C } from '../../host/envoy/filters-plugin-config.js';
import { FiltersConfigError } from '../../host/envoy/filters-config-error.js';
import { envoyConfigCommand } from '../../host/cli/envoy-config-command.js';
import { fakeIo } from '../helpers/fake-io.js';
import { jsonList } from '../helpers/envoy-json.js';
import { dest, match, ops, route, seed000Resources, seed000Split, webCluster } from '../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const opts = { listen: { host: '127.0.0.1', port: 8081 }, admin: { host: '127.0.0.1', port: 15001 }, gateway: 'web-gateway', wasmPath: '/x/wasmesh-filters.wasm' };
const hcmOf = (config: any): any => config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

function withDestOpsAndFault(): MeshConfig {
  const v1 = webCluster('v1', 1001);
  const v2 = webCluster('v2', 1002);
  return {
    clusters: [v1, v2],
    virtualHosts: [{
      name: 'gw', domains: ['*'], routes: [
        route('default/web/0', [dest(v1.name, 50, { requestHeaders: ops({ set: [['x-subset', 'v1']] }) }), dest(v2.name, 50)], {
          matches: [match({ uri: { kind: 'prefix', value: '/a' } }), match({ uri: { kind: 'prefix', value: '/b' } })],
          requestHeaders: ops({ set: [['x-env', 'prod']] }), timeoutMs: 300,
        }),
        route('default/web/1', [dest(v2.name)], { fault: { delay: null, abort: { httpStatus: 503, percentage: 10 } } }),
      ],
    }],
  };
}

describe('envoyFiltersBootstrap', () => {
  it('seed 000 80/20: one Envoy route with cluster_header, matched by x-wasmesh-cluster (no route header needed); the router filter first', () => {
    const mesh = seed000Split();
    const { config, warnings } = envoyFiltersBootstrap({ mesh, resources: seed000Resources }, opts);
    const hcm = hcmOf(config);
    const hosts = hcm.route_config.virtual_hosts;
    expect(hosts).toHaveLength(1);
    expect(hosts[0].domains).toEqual(['*']);
    expect(hosts[0].routes).toHaveLength(1);
    const r = hosts[0].routes[0];
    expect(r.name).toBe('default/web/0');
    expect(r.match).toEqual({ prefix: '/', headers: [{ name: 'x-wasmesh-cluster', present_match: true }] });
    expect(r.route.cluster_header).toBe('x-wasmesh-cluster');
    expect(r.route.weighted_clusters).toBeUndefined();
    expect(r.route.timeout).toBe('0s');
    expect(r.route.retry_policy.num_retries).toBe(2);
    expect(r.request_headers_to_remove).toEqual(['x-wasmesh-route', 'x-wasmesh-cluster', 'x-wasmesh-dest']);
    expect(hcm.http_filters.map((f: any) => f.typed_config.config?.root_id ?? f.name)).toEqual(['wasmesh_router', 'envoy.filters.http.router']);
    const wasm = hcm.http_filters[0].typed_config.config;
    expect(wasm.vm_config).toEqual({ vm_id: 'wasmesh', runtime: 'envoy.wasm.runtime.v8', code: { local: { filename: '/x/wasmesh-filters.wasm' } } });
    expect(wasm.failure_policy).toBe('FAIL_CLOSED');
    // The plugin configuration holds the table the uWebSockets.js host loads, unchanged.
    const blob = Buffer.from(wasm.configuration.value, 'base64');
    expect(wasm.configuration['@type']).toBe('type.googleapis.com/google.protobuf.BytesValue');
    const off = blob.readUInt32LE(C.TABLE_OFF);
    expect(blob.subarray(off, off + blob.readUInt32LE(C.TABLE_LEN)).equals(Buffer.from(compileRouteTable(mesh, { listenerPort: 8081 })))).toBe(true);
    expect(blob.readUInt32LE(blob.readUInt32LE(C.ROUTES_OFF))).toBe(0);
    // Clusters are the native translation's.
    expect(jsonList(config, 'static_resources.clusters').map((c) => c.name)).toEqual(mesh.clusters.map((c) => c.name));
    expect(warnings).toEqual([]);
  });

  it('keeps route actions, one route per destination where destinations edit headers, and adds the fault filter only for faults', () => {
    const mesh = withDestOpsAndFault();
    const { config, warnings } = envoyFiltersBootstrap({ mesh }, opts);
    const hcm = hcmOf(config);
    const routes = hcm.route_config.virtual_hosts[0].routes;
    expect(routes.map((r: any) => r.name)).toEqual(['default/web/0#dest0', 'default/web/0#dest1', 'default/web/1']);
    expect(routes[0].match.headers).toEqual([
      { name: 'x-wasmesh-route', string_match: { exact: '0' } },
      { name: 'x-wasmesh-dest', string_match: { exact: '0' } },
    ]);
    const setKeys = (r: any): string[] => (r.request_headers_to_add ?? []).map((h: any) => `${h.header.key}=${h.header.value}`);
    expect(setKeys(routes[0])).toEqual(['x-env=prod', 'x-subset=v1']);
    expect(setKeys(routes[1])).toEqual(['x-env=prod']);
    expect(routes[0].route.timeout).toBe('0.3s');
    expect(routes[2].match.headers).toEqual([{ name: 'x-wasmesh-route', string_match: { exact: '1' } }]);
    expect(hcm.http_filters.map((f: any) => f.typed_config.config?.root_id ?? f.name)).toEqual(['wasmesh_router', 'wasmesh_fault', 'envoy.filters.http.router']);
    // Both filters get the same configuration; route 0 is flagged for x-wasmesh-dest.
    const [a, b] = hcm.http_filters.slice(0, 2).map((f: any) => f.typed_config.config.configuration.value);
    expect(a).toBe(b);
    const blob = Buffer.from(a, 'base64');
    expect(blob.readUInt32LE(blob.readUInt32LE(C.ROUTES_OFF))).toBe(3);
    expect(warnings.filter((w) => /fault/.test(w))).toEqual([]);
  });

  it('refuses a mesh the route table cannot hold, naming the route and field', () => {
    const mesh = seed000Split();
    mesh.virtualHosts[0].routes[0].matches = [match({ uri: { kind: 'regex', value: '(a' } })];
    expect(() => envoyFiltersBootstrap({ mesh }, opts)).toThrow(FiltersConfigError);
    try {
      envoyFiltersBootstrap({ mesh }, opts);
    } catch (e) {
      expect((e as FiltersConfigError).code).toBe('filters_config_route_table');
      expect((e as FiltersConfigError).message).toMatch(/^default\/web\/0: uri\.regex/);
    }
  });

  it('refuses a JWT claim match (the filters cannot read jwt_authn metadata), naming the route', () => {
    const mesh = seed000Split();
    mesh.virtualHosts[0].routes[0].matches = [match({ headers: [{ name: '@request.auth.claims.groups', match: { kind: 'exact', value: 'g' }, invert: false, claim: ['groups'] }] })];
    expect(() => envoyFiltersBootstrap({ mesh }, opts)).toThrow(/^default\/web\/0: @request\.auth\.claims\.groups: .*\[filters_config_claim_match\]$/);
  });

  it('keys routes by x-wasmesh-route as soon as their Envoy actions differ', () => {
    const mesh = seed000Split();
    const [v1, v2] = mesh.clusters;
    mesh.virtualHosts[0].routes = [
      route('default/web/slow', [dest(v1.name)], { matches: [match({ uri: { kind: 'prefix', value: '/slow' } })], timeoutMs: 5000 }),
      route('default/web/rest', [dest(v2.name)]),
    ];
    const routes = hcmOf(envoyFiltersBootstrap({ mesh }, opts).config).route_config.virtual_hosts[0].routes;
    expect(routes.map((r: any) => [r.name, r.match.headers[0].string_match.exact, r.route.timeout])).toEqual([['default/web/slow', '0', '5s'], ['default/web/rest', '1', '0s']]);
  });

  it('carries the native virtual host settings (all but name, domains and routes)', () => {
    const mesh = seed000Split();
    const nativeHost = hcmOf(envoyBootstrap({ mesh, resources: seed000Resources }, opts).config).route_config.virtual_hosts[0];
    const filtersHost = hcmOf(envoyFiltersBootstrap({ mesh, resources: seed000Resources }, opts).config).route_config.virtual_hosts[0];
    const { name: _a, domains: _b, routes: _c, ...settings } = nativeHost;
    const { name: _d, domains: _e, routes: _f, ...carried } = filtersHost;
    expect(carried).toEqual(settings);
  });

  it('keeps the native match beside the route header for a route whose uri rewrite needs the matched prefix', () => {
    const mesh = seed000Split();
    const r = mesh.virtualHosts[0].routes[0];
    r.matches = [match({ uri: { kind: 'prefix', value: '/api' } }), match({ uri: { kind: 'prefix', value: '/v2/api' } })];
    r.rewrite = { uri: '/' };
    const routes = hcmOf(envoyFiltersBootstrap({ mesh }, opts).config).route_config.virtual_hosts[0].routes;
    expect(routes.map((x: any) => x.match)).toEqual([
      { prefix: '/api', headers: [{ name: 'x-wasmesh-route', string_match: { exact: '0' } }] },
      { prefix: '/v2/api', headers: [{ name: 'x-wasmesh-route', string_match: { exact: '0' } }] },
    ]);
  });
});

describe('wasmesh envoy-config --filters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-filters-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const io = fakeIo;

  it('prints the filters bootstrap for examples/000-web-demo', async () => {
    const out = io();
    const code = await envoyConfigCommand(['-f', 'examples/000-web-demo', '--listen', '127.0.0.1:8081', '--gateway', 'web-gateway', '--filters'], out);
    expect(code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^# Envoy v3 bootstrap generated by `wasmesh envoy-config --filters`/);
    const hcm = hcmOf(parse(out.stdout));
    expect(hcm.http_filters[0].typed_config.config.vm_config.code.local.filename).toMatch(/build\/filters\/wasmesh-filters\.wasm$/);
    expect(hcm.route_config.virtual_hosts[0].routes[0].route.cluster_header).toBe('x-wasmesh-cluster');
  });
});
