// An Envoy sidecar's outbound side (host/envoy/sidecar-outbound-listeners.ts) from real Istio YAML:
// virtualOutbound with use_original_dst and the catch-all chosen by outboundTrafficPolicy, a
// not-bound `<VIP>_<port>` listener per service address by protocol (TCP with its tcp: routes and
// weights, TLS with its tls: routes by SNI, HTTP, sniffed), `0.0.0.0_<port>` for services without
// addresses (TLS ones by SNI) and for HTTP ports, the shared route configuration served once over
// xDS, and the real Envoy's `--mode validate` on the static form. Traffic on real packets:
// test/sidecar/sidecar-outbound-planes-netns.test.ts.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { envoyFiltersBootstrap } from '../../host/envoy/filters-bootstrap.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { envoyValidate, loadYaml } from './protocol-fixtures.js';

const mesh = (mode: string): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    outboundTrafficPolicy: {mode: ${mode}}
    protocolDetectionTimeout: 250ms
`;

const SERVICES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis, namespace: default}
spec:
  hosts: [redis.example.internal]
  addresses: [10.0.0.50]
  resolution: STATIC
  ports: [{number: 6379, name: redis, protocol: REDIS}]
  endpoints: [{address: 10.1.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis-b, namespace: default}
spec:
  hosts: [redis-b.example.internal]
  addresses: [10.0.0.55]
  resolution: STATIC
  ports: [{number: 6379, name: tcp-redis}]
  endpoints: [{address: 10.1.0.2}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: redis-split, namespace: default}
spec:
  hosts: [redis.example.internal]
  tcp:
  - match: [{port: 6379}]
    route:
    - {destination: {host: redis.example.internal}, weight: 70}
    - {destination: {host: redis-b.example.internal}, weight: 30}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure, namespace: default}
spec:
  hosts: [secure.example.internal]
  addresses: [10.0.0.53]
  resolution: STATIC
  ports: [{number: 443, name: tls}]
  endpoints: [{address: 10.1.0.3}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure-b, namespace: default}
spec:
  hosts: [secure-b.example.internal]
  addresses: [10.0.0.54]
  resolution: STATIC
  ports: [{number: 443, name: https}]
  endpoints: [{address: 10.1.0.4}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure-by-sni, namespace: default}
spec:
  hosts: [secure.example.internal, '*.secure.example.internal']
  tls:
  - match: [{port: 443, sniHosts: [v2.secure.example.internal]}]
    route: [{destination: {host: secure-b.example.internal}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-one, namespace: default}
spec:
  hosts: [one.tls.example.internal]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 4443, name: tls}]
  endpoints: [{address: 10.1.0.5}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-two, namespace: default}
spec:
  hosts: [two.tls.example.internal]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 4443, name: tls}]
  endpoints: [{address: 10.1.0.6}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: plain, namespace: default}
spec:
  hosts: [plain.example.internal]
  addresses: [10.0.0.51, 10.9.0.0/16]
  resolution: STATIC
  ports: [{number: 7000, name: greeter}]
  endpoints: [{address: 10.1.0.7}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: default}
spec:
  hosts: [web.example.internal]
  resolution: STATIC
  ports: [{number: 8080, name: http}]
  endpoints: [{address: 10.1.0.8}]
`;

const OPTS = { listen: { host: '0.0.0.0', port: 15001 }, admin: { host: '127.0.0.1', port: 15000 } };
const REDIS = 'outbound|6379||redis.example.internal';
const REDIS_B = 'outbound|6379||redis-b.example.internal';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** The bootstrap's static listeners: Envoy's JSON, read field by field below (not typed here). */
const staticListeners = (config: unknown): any[] => (config as { static_resources: { listeners: any[] } }).static_resources.listeners;

function translate(mode: 'ALLOW_ANY' | 'REGISTRY_ONLY', transparent = false) {
  const r = envoyBootstrap(loadYaml({ 'mesh.yaml': mesh(mode), 'services.yaml': SERVICES }), { ...OPTS, sidecarOutbound: { transparent } });
  const listeners = staticListeners(r.config);
  return { r, listeners, byName: (n: string): any => listeners.find((l) => l.name === n) };
}
const proxied = (chain: any): any => chain.filters[0].typed_config;

describe('envoyBootstrap sidecarOutbound: Istio\'s outbound listeners for an Envoy sidecar', () => {
  const { r, listeners, byName } = translate('ALLOW_ANY');

  it('virtualOutbound on the capture port hands connections to their original destination\'s listener; the rest pass through', () => {
    const vo = byName('virtualOutbound');
    expect(vo).toMatchObject({ address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, use_original_dst: true, traffic_direction: 'OUTBOUND' });
    expect(vo.transparent).toBeUndefined();
    expect(vo.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.original_dst']);
    expect(vo.filter_chains.map((c: any) => [c.name, c.filter_chain_match, proxied(c).cluster])).toEqual([
      ['virtualOutbound-blackhole', { destination_port: 15001 }, 'BlackHoleCluster'],
      ['virtualOutbound-catchall-tcp', undefined, 'PassthroughCluster'],
    ]);
    // Every other listener is not bound: only reachable by hand-off.
    for (const l of listeners.filter((x) => x !== vo)) expect(l.bind_to_port, l.name).toBe(false);
  });

  it('REGISTRY_ONLY: the catch-all chain goes to BlackHoleCluster (never fails open); TPROXY: transparent', () => {
    const blocked = translate('REGISTRY_ONLY', true).byName('virtualOutbound');
    expect(blocked.filter_chains.map((c: any) => proxied(c).cluster)).toEqual(['BlackHoleCluster', 'BlackHoleCluster']);
    expect(blocked.transparent).toBe(true);
  });

  it('a TCP VIP: its tcp: route as a weighted tcp_proxy; another VIP its own cluster', () => {
    expect(byName('10.0.0.50_6379')).toMatchObject({ address: { socket_address: { address: '10.0.0.50', port_value: 6379 } } });
    expect(byName('10.0.0.50_6379').filter_chains).toEqual([{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: 'default/redis-split/tcp-0',
      weighted_clusters: { clusters: [{ name: REDIS, weight: 70 }, { name: REDIS_B, weight: 30 }] },
      idle_timeout: '3600s',
    } }] }]);
    expect(byName('10.0.0.55_6379').filter_chains.map(proxied)).toEqual([expect.objectContaining({ cluster: REDIS_B, stat_prefix: REDIS_B })]);
  });

  it('a TLS VIP: tls_inspector, the tls: rule by server name, then the service\'s own cluster', () => {
    const l = byName('10.0.0.53_443');
    expect(l.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(l.listener_filters_timeout).toBe('0.25s');
    expect(l.continue_on_listener_filters_timeout).toBe(true);
    expect(l.filter_chains.map((c: any) => [c.filter_chain_match, proxied(c).cluster])).toEqual([
      [{ server_names: ['v2.secure.example.internal'] }, 'outbound|443||secure-b.example.internal'],
      [undefined, 'outbound|443||secure.example.internal'],
    ]);
    // An HTTPS port is passed through the same way (the rule names another service: its own cluster only).
    expect(byName('10.0.0.54_443').filter_chains.map((c: any) => proxied(c).cluster)).toEqual(['outbound|443||secure-b.example.internal']);
  });

  it('TLS services without addresses share 0.0.0.0_<port>, told apart by SNI, the first by host the default', () => {
    const l = byName('0.0.0.0_4443');
    expect(l.filter_chains.map((c: any) => [c.filter_chain_match, proxied(c).cluster])).toEqual([
      [{ server_names: ['one.tls.example.internal'] }, 'outbound|4443||one.tls.example.internal'],
      [{ server_names: ['two.tls.example.internal'] }, 'outbound|4443||two.tls.example.internal'],
      [undefined, 'outbound|4443||one.tls.example.internal'],
    ]);
  });

  it('an unnamed port is sniffed: HTTP to the connection manager, TLS by SNI, else TCP', () => {
    const l = byName('10.0.0.51_7000');
    expect(l.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
    expect(l.filter_chains.map((c: any) => [c.filter_chain_match, c.filters[0].name])).toEqual([
      [{ transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'http/1.0', 'h2c'] }, 'envoy.filters.network.http_connection_manager'],
      [{ transport_protocol: 'tls' }, 'envoy.filters.network.tcp_proxy'],
      // raw_buffer named: Envoy would not come back to a chain without a transport (no_filter_chain_match).
      [{ transport_protocol: 'raw_buffer' }, 'envoy.filters.network.tcp_proxy'],
    ]);
    expect(l.filter_chains[0].filters[0].typed_config.rds ?? l.filter_chains[0].filters[0].typed_config.route_config.name).toBe('7000');
  });

  it('a CIDR address: 0.0.0.0_<port> chains matching the range by destination prefix, laid out by the port\'s protocol (sniffed here)', () => {
    const l = byName('0.0.0.0_7000');
    expect(l).toMatchObject({ address: { socket_address: { address: '0.0.0.0', port_value: 7000 } }, bind_to_port: false });
    expect(l.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
    const range = [{ address_prefix: '10.9.0.0', prefix_len: 16 }];
    expect(l.filter_chains.map((c: any) => [c.filter_chain_match, c.filters[0].typed_config.cluster ?? c.filters[0].typed_config.route_config?.name])).toEqual([
      [{ transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'http/1.0', 'h2c'], prefix_ranges: range }, '7000'],
      [{ transport_protocol: 'tls', prefix_ranges: range }, 'outbound|7000||plain.example.internal'],
      [{ transport_protocol: 'raw_buffer', prefix_ranges: range }, 'outbound|7000||plain.example.internal'],
    ]);
    expect(r.warnings.filter((w) => w.includes('10.9.0.0/16'))).toEqual([]);
  });

  it('an HTTP port gets 0.0.0.0_<port> with the connection manager; a route configuration per port (Istio\'s RDS "8080"), served once over xDS', () => {
    const l = byName('0.0.0.0_8080');
    expect(l.listener_filters.map((f: any) => f.name)).toEqual(['envoy.filters.listener.http_inspector']);
    // Sniffed HTTP to the connection manager, the rest to the catch-all (Istio's `0.0.0.0 80 ALL PassthroughCluster` row).
    expect(l.filter_chains.map((c: any) => [c.filter_chain_match, c.filters[0].name, c.filters[0].typed_config.cluster])).toEqual([
      [{ transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'http/1.0', 'h2c'] }, 'envoy.filters.network.http_connection_manager', undefined],
      [{ transport_protocol: 'raw_buffer' }, 'envoy.filters.network.tcp_proxy', 'PassthroughCluster'],
    ]);
    expect(translate('REGISTRY_ONLY').byName('0.0.0.0_8080').filter_chains[1].filters[0].typed_config.cluster).toBe('BlackHoleCluster');
    expect(l.filter_chains[0].filters[0].typed_config.stat_prefix).toBe('outbound_0.0.0.0_8080');
    const xds = envoyXdsResources(r.config);
    expect(xds.routes.map((x: any) => x.name).sort()).toEqual(['7000', '8080']);
    const rdsNames = xds.listeners.flatMap((x: any) => x.filter_chains.flatMap((c: any) => c.filters.map((f: any) => f.typed_config.rds?.route_config_name).filter(Boolean)));
    // 7000: the VIP's sniffed listener and the range's chains share it.
    expect(rdsNames.sort()).toEqual(['7000', '7000', '8080']);
    const table = (n: string): any => xds.routes.find((x: any) => x.name === n);
    expect(table('8080').virtual_hosts.map((v: any) => [v.name, v.domains])).toEqual([
      ['web.example.internal:8080', ['web.example.internal', 'web.example.internal:8080']],
      ['allow_any', ['*']],
    ]);
    // The VIP joins its service's names (a CIDR does not).
    expect(table('7000').virtual_hosts[0].domains).toEqual(['plain.example.internal', 'plain.example.internal:7000', '10.0.0.51', '10.0.0.51:7000']);
    for (const x of xds.listeners) expect(anyFromJson(envoyProtos(), TYPE_URL.listener, x).value.length, String(x.name)).toBeGreaterThan(0);
  });

  it('with the wasmesh filters (--filters): the same layout, every HTTP listener with the filters\' connection manager and their one route table (routing by Host in the filter)', () => {
    const f = envoyFiltersBootstrap(loadYaml({ 'mesh.yaml': mesh('ALLOW_ANY'), 'services.yaml': SERVICES }), { ...OPTS, sidecarOutbound: { transparent: false } });
    const ls = staticListeners(f.config);
    const native = listeners.map((l) => l.name);
    expect(ls.map((l) => l.name)).toEqual(native);
    const hcms = ls.flatMap((l) => l.filter_chains.flatMap((c: any) => c.filters.filter((x: any) => x.name === 'envoy.filters.network.http_connection_manager').map((x: any) => x.typed_config)));
    expect(hcms.length).toBeGreaterThanOrEqual(3);
    for (const h of hcms) expect(h.http_filters.map((x: any) => x.name)).toContain('envoy.filters.http.wasm');
    // One route configuration object for every port: the filter chose the route already.
    expect(new Set(hcms.map((h) => h.route_config)).size).toBe(1);
    const xds = envoyXdsResources(f.config);
    expect(xds.routes).toHaveLength(1);
    // The TCP and TLS listeners are the native ones.
    expect(ls.find((l) => l.name === '10.0.0.50_6379').filter_chains).toEqual(byName('10.0.0.50_6379').filter_chains);
  });

  const envoy = envoyForTests('sidecar-outbound-listeners');
  it.skipIf(envoy === null)('envoy --mode validate accepts it (ALLOW_ANY, and REGISTRY_ONLY with TPROXY)', async () => {
    for (const yaml of [r.yaml, translate('REGISTRY_ONLY', true).r.yaml]) {
      const result = await envoyValidate(envoy!, yaml);
      expect(result.ok, result.output).toBe(true);
    }
  });
});
