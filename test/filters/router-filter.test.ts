// The wasmesh_router filter in a JavaScript proxy-wasm host: the same decisions as the core
// (route match, exact smooth-WRR split), the headers Envoy's routes read, local 404 for no
// route, refused configurations with their codes, and memory that stays flat across requests
// and configuration updates.
import { describe, expect, it } from 'vitest';
import { compileRouteTable } from '../../host/compile/route-table.js';
import { encodeFiltersPluginConfig } from '../../host/envoy/filters-plugin-config.js';
import { FakeProxyHost, serializePairs } from '../helpers/fake-proxy-host.js';
import { dest, match, route, seed000Split, webCluster } from '../helpers/mesh-fixtures.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { loadConfig } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../helpers/seed-000-yaml.js';

function config(mesh: MeshConfig, destRoutes?: boolean[], routeHeader = true): Uint8Array {
  return encodeFiltersPluginConfig(mesh, compileRouteTable(mesh, { listenerPort: 8080 }), { destRoutes, routeHeader });
}

function get(authority: string, path: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', 'GET'], [':path', path], [':authority', authority], [':scheme', 'http'], ['user-agent', 't'], ...extra];
}

/** jason → v2 on /, everything else on / → v1; host web.example.com only. */
function headerRouting(): MeshConfig {
  const v1 = webCluster('v1', 1001);
  const v2 = webCluster('v2', 1002);
  return {
    clusters: [v1, v2],
    virtualHosts: [{
      name: 'gw', domains: ['web.example.com'], routes: [
        route('default/web/jason', [dest(v2.name)], { matches: [match({ uri: { kind: 'prefix', value: '/' }, headers: [{ name: 'end-user', match: { kind: 'exact', value: 'jason' }, invert: false }] })] }),
        route('default/web/default', [dest(v1.name)], { matches: [match({ uri: { kind: 'prefix', value: '/' } })] }),
        route('default/web/moved', [], { matches: [match({ uri: { kind: 'exact', value: '/moved' } })] }),
      ],
    }],
  };
}

describe('wasmesh_router', () => {
  it('splits weights of any total as the core does: Istio YAML with 1/3 is exactly 25/75 over 400 requests', () => {
    const t = tempYaml({
      'a.yaml': WEB_SERVICE,
      'b.yaml': `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route:
    - {destination: {host: web, subset: v1}, weight: 1}
    - {destination: {host: web, subset: v2}, weight: 3}
`,
    });
    const { mesh } = loadConfig([t.dir], { gateway: 'gw' });
    const host = new FakeProxyHost();
    const [root, ok] = host.startRoot('wasmesh_router', config(mesh));
    expect(ok).toBe(true);
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const r = host.request(root, get('web.example.com', '/'));
      const cluster = host.header(r.stream, 'x-wasmesh-cluster')!;
      counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
      host.end(r.stream);
    }
    expect(Object.fromEntries(counts)).toEqual({ 'outbound|5005|v1|web.default.svc.cluster.local': 100, 'outbound|5005|v2|web.default.svc.cluster.local': 300 });
  });

  it('splits 80/20 exactly in every 100 requests and names the cluster for cluster_header', () => {
    const host = new FakeProxyHost();
    const mesh = seed000Split();
    const [root, ok] = host.startRoot('wasmesh_router', config(mesh));
    expect(ok).toBe(true);
    for (let round = 0; round < 3; round++) {
      const counts = new Map<string, number>();
      for (let i = 0; i < 100; i++) {
        const r = host.request(root, get('web.example.com', '/'));
        expect(r.action).toBe(0);
        expect(host.header(r.stream, 'x-wasmesh-route')).toBe('0');
        const cluster = host.header(r.stream, 'x-wasmesh-cluster')!;
        counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
        host.end(r.stream);
      }
      expect(Object.fromEntries(counts)).toEqual({ [mesh.clusters[0].name]: 80, [mesh.clusters[1].name]: 20 });
    }
    // Counters reach the host in batches of 64, and all of them on the root's tick.
    expect(host.metrics.get('wasmesh_router_routed')).toBe(256);
    expect(host.tickPeriods.get(root)).toBe(1000);
    host.tick(root);
    expect(host.metrics.get('wasmesh_router_routed')).toBe(300);
    // Envoy clears its route cache on header edits: no foreign call per request.
    expect(host.foreignCalls).toEqual([]);
  });

  it('skips x-wasmesh-route when one Envoy route serves every route', () => {
    const host = new FakeProxyHost();
    const mesh = seed000Split();
    const [root] = host.startRoot('wasmesh_router', config(mesh, undefined, false));
    const r = host.request(root, get('web.example.com', '/'));
    expect(host.header(r.stream, 'x-wasmesh-route')).toBeUndefined();
    expect(host.header(r.stream, 'x-wasmesh-cluster')).toBe(mesh.clusters[0].name);
  });

  it('matches headers and the authority as the core does; overwrites client-sent routing headers', () => {
    const host = new FakeProxyHost();
    const mesh = headerRouting();
    const [root] = host.startRoot('wasmesh_router', config(mesh));
    const spoof: Array<[string, string]> = [['x-wasmesh-cluster', 'evil'], ['x-wasmesh-route', '2']];
    const jason = host.request(root, get('web.example.com', '/', [['end-user', 'jason'], ...spoof]));
    expect([host.header(jason.stream, 'x-wasmesh-route'), host.header(jason.stream, 'x-wasmesh-cluster')]).toEqual(['0', mesh.clusters[1].name]);
    const other = host.request(root, get('WEB.example.com:80', '/x', [['end-user', 'Jason']]));
    expect([host.header(other.stream, 'x-wasmesh-route'), host.header(other.stream, 'x-wasmesh-cluster')]).toEqual(['1', mesh.clusters[0].name]);
  });

  it('answers 404 locally when no route matches, and routes a destination-less route to Envoy', () => {
    const host = new FakeProxyHost();
    const [root] = host.startRoot('wasmesh_router', config(headerRouting()));
    const r = host.request(root, get('elsewhere.example.com', '/'));
    expect(r.action).toBe(1);
    expect(host.localResponses).toEqual([{ stream: r.stream, status: 404, details: 'wasmesh_route_not_found', body: '' }]);
    expect(host.header(r.stream, 'x-wasmesh-route')).toBeUndefined();
    host.tick(root);
    expect(host.metrics.get('wasmesh_router_no_route')).toBe(1);
    // /moved matches route 0 (prefix /) first; a route without destinations is last in order,
    // so use a mesh where it comes first.
    const mesh = headerRouting();
    mesh.virtualHosts[0].routes.reverse();
    const [root2] = host.startRoot('wasmesh_router', config(mesh));
    const moved = host.request(root2, get('web.example.com', '/moved'));
    expect(moved.action).toBe(0);
    expect(host.header(moved.stream, 'x-wasmesh-route')).toBe('0');
    expect(host.header(moved.stream, 'x-wasmesh-cluster')).toBeUndefined();
    host.tick(root2);
    expect(host.metrics.get('wasmesh_router_no_destination')).toBe(1);
  });

  it('sends x-wasmesh-dest only for routes flagged with per-destination Envoy routes', () => {
    const host = new FakeProxyHost();
    const mesh = seed000Split(1, 2, [50, 50]);
    const [plain] = host.startRoot('wasmesh_router', config(mesh, [false]));
    const a = host.request(plain, get('x', '/'));
    expect(host.header(a.stream, 'x-wasmesh-dest')).toBeUndefined();
    const [flagged] = host.startRoot('wasmesh_router', config(mesh, [true]));
    const slots = [0, 1, 2, 3].map(() => host.header(host.request(flagged, get('x', '/')).stream, 'x-wasmesh-dest'));
    expect(slots).toEqual(['0', '1', '0', '1']);
  });

  it('answers 500 (not a guess) when Envoy hands it a malformed header map', () => {
    const host = new FakeProxyHost();
    const [root] = host.startRoot('wasmesh_router', config(seed000Split()));
    const good = serializePairs(get('x', '/'));
    host.pairsOverride = good.subarray(0, good.length - 3);
    const r = host.request(root, get('x', '/'));
    expect(r.action).toBe(1);
    expect(host.localResponses.at(-1)).toMatchObject({ status: 500, details: 'wasmesh_router_bad_request_headers' });
    host.tick(root);
    expect(host.metrics.get('wasmesh_router_bad_request_view')).toBe(1);
  });

  describe('refuses a bad plugin configuration: on_configure false, an ERROR log with the code', () => {
    const good = config(seed000Split());
    const corrupt = (edit: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = good.slice();
      edit(b, new DataView(b.buffer));
      return b;
    };
    const tableOff = new DataView(good.buffer).getUint32(12, true);
    it.each<[string, Uint8Array, RegExp]>([
      ['empty', new Uint8Array(0), /wasmesh_config_too_short/],
      ['a YAML string instead of bytes', new TextEncoder().encode('virtualHosts: []\n'.repeat(4)), /wasmesh_config_bad_magic/],
      ['a newer format version', corrupt((_b, v) => v.setUint32(4, 2, true)), /wasmesh_config_bad_version/],
      ['truncated', good.subarray(0, good.length - 1), /wasmesh_config_bad_length/],
      ['names outside the blob', corrupt((_b, v) => v.setUint32(24, 0xfffff0, true)), /wasmesh_config_section_out_of_bounds/],
      ['an abort status of 99', corrupt((b, v) => { const r = v.getUint32(32, true); v.setUint32(r + 12, 99, true); v.setUint32(r + 16, 5, true); }), /wasmesh_config_bad_route_record/],
      ['a corrupt route table', corrupt((_b, v) => v.setUint32(tableOff + 24, 0xffff0, true)), /wasmesh_config_bad_route_table.*RouteStatus -4/],
      ['a table of another magic', corrupt((_b, v) => v.setUint32(tableOff, 0x12345678, true)), /wasmesh_config_bad_route_table.*RouteStatus -2/],
    ])('%s', (_what, bytes, code) => {
      const host = new FakeProxyHost();
      const [root, ok] = host.startRoot('wasmesh_router', bytes);
      expect(ok).toBe(false);
      const errors = host.logs.filter((l) => l.level === 4).map((l) => l.message);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^wasmesh_router: plugin configuration rejected \(/);
      expect(errors[0]).toMatch(code);
      expect(host.metrics.get('wasmesh_config_rejected')).toBe(1);
      // Were Envoy to send a request anyway, it is refused, never routed.
      const r = host.request(root, get('x', '/'));
      expect(host.header(r.stream, 'x-wasmesh-cluster')).toBeUndefined();
      expect(host.localResponses.at(-1)).toMatchObject({ status: 500, details: 'wasmesh_router_unconfigured' });
    });
  });

  it('fails to configure under an unknown root_id', () => {
    const host = new FakeProxyHost();
    const [, ok] = host.startRoot('wasmesh_nope', config(seed000Split()));
    expect(ok).toBe(false);
    expect(host.logs.map((l) => l.message).join('\n')).toMatch(/unknown root_id "wasmesh_nope" \(known: wasmesh_router, wasmesh_fault\)/);
  });

  it('keeps memory flat across 20,000 requests and 2,000 configuration updates', () => {
    const host = new FakeProxyHost();
    const big = seed000Split();
    const [root] = host.startRoot('wasmesh_router', config(big));
    const warm = (): void => {
      for (let i = 0; i < 1000; i++) host.end(host.request(root, get('web.example.com', '/', [['x-filler', 'y'.repeat(i % 500)]])).stream);
      for (let i = 0; i < 100; i++) expect(host.configure(root, config(seed000Split(1, 2, [i % 100, 100 - (i % 100) || 1])))).toBe(true);
    };
    warm();
    const before = host.memoryBytes;
    for (let k = 0; k < 19; k++) warm();
    expect(host.memoryBytes).toBe(before);
    // Roots come and go as Envoy replaces plugins: their configurations are freed too.
    for (let i = 0; i < 200; i++) host.endRoot(host.startRoot('wasmesh_router', config(big))[0]);
    expect(host.memoryBytes).toBe(before);
  });
});
