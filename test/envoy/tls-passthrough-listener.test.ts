// Gateway passthrough ports → Envoy listeners (host/envoy/tls-passthrough-listener.ts): chains in
// rule order, server names an earlier rule claims left out (Envoy refuses duplicate matches),
// `*` as a chain without server_names, subnets as prefix_ranges, the order difference warned
// about, AUTO_PASSTHROUGH chains per cluster, an unmapped or routeless port warned and left out.
import { describe, expect, test } from 'vitest';
import { envoyPassthroughListeners } from '../../host/envoy/tls-passthrough-listener.js';
import type { Cluster, MeshConfig } from '../../host/model/mesh.js';
import type { TcpRoute } from '../../host/model/tcp-route.js';

const route = (name: string, sni: string[], opts: { port?: number | null; subnets?: string[]; to?: Array<[string, number]> } = {}): TcpRoute => ({
  name, hosts: [], matches: [{ port: opts.port ?? null, destinationSubnets: opts.subnets ?? [], sniHosts: sni }],
  destinations: (opts.to ?? [['c1', 100]]).map(([cluster, weight]) => ({ cluster, weight })),
});
const cluster = (name: string, host: string, port: number, subset: string | null = null): Cluster => ({ name, host, port, subset, endpoints: [], lb: 'ROUND_ROBIN', policy: {} as Cluster['policy'] });
const at = (port: number) => ({ port, at: { host: '127.0.0.1', port: 10000 + port } });
const addr = (hp: { host: string; port: number }) => ({ socket_address: { address: hp.host, port_value: hp.port } });

describe('envoyPassthroughListeners', () => {
  test('PASSTHROUGH: chains in rule order, duplicates dropped with a warning, * and subnets, weights', () => {
    const mesh: MeshConfig = {
      virtualHosts: [], clusters: [],
      gatewayPassthroughListeners: [{ port: 443, mode: 'PASSTHROUGH', servers: ['s'], hosts: ['*'] }],
      tlsRoutes: [
        route('r0', ['a.example.com'], { subnets: ['10.0.0.0/8'] }),
        route('r1', ['*.example.com', 'a.example.com']),
        route('r2', ['b.example.com', 'a.example.com'], { to: [['c1', 30], ['c2', 70]] }),
        route('r3', ['*'], { port: 443 }),
        route('r4', ['x.example.com'], { port: 8443 }),
      ],
    };
    const warnings: string[] = [];
    const [l] = envoyPassthroughListeners(mesh, 'gw', [at(443)], addr, warnings);
    expect(l).toMatchObject({ name: 'gateway_gw_443', address: { socket_address: { port_value: 10443 } } });
    const chains = l!.filter_chains as Array<{ name: string; filter_chain_match: Record<string, unknown>; filters: Array<{ typed_config: Record<string, unknown> }> }>;
    expect(chains.map((c) => c.filter_chain_match)).toEqual([
      { server_names: ['a.example.com'], prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] },
      { server_names: ['*.example.com', 'a.example.com'] },
      { server_names: ['b.example.com'] },
      {},
    ]);
    expect(chains[2]!.filters[0]!.typed_config).toMatchObject({ stat_prefix: 'r2', weighted_clusters: { clusters: [{ name: 'c1', weight: 30 }, { name: 'c2', weight: 70 }] } });
    expect(chains[0]!.filters[0]!.typed_config).toMatchObject({ stat_prefix: 'c1', cluster: 'c1' });
    expect(warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/SNI a\.example\.com of r2 is already routed by r1/),
      expect.stringMatching(/b\.example\.com \(r2\/2\) comes after \*\.example\.com \(r1\/1\); wasmesh routes it by the earlier rule, Envoy by the more specific server name/),
    ]));
  });

  test("AUTO_PASSTHROUGH: one chain per service cluster on Istio's outbound_ SNI; catch-all clusters left out", () => {
    const mesh: MeshConfig = {
      virtualHosts: [],
      clusters: [cluster('outbound|9080||reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local', 9080), cluster('outbound|9080|v1|reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local', 9080, 'v1'), cluster('PassthroughCluster', 'PassthroughCluster', 0)],
      gatewayPassthroughListeners: [{ port: 15443, mode: 'AUTO_PASSTHROUGH', servers: ['s'], hosts: ['*.local'] }],
    };
    const [l] = envoyPassthroughListeners(mesh, 'eastwest', [at(15443)], addr, []);
    expect((l!.filter_chains as Array<{ filter_chain_match: unknown }>).map((c) => c.filter_chain_match)).toEqual([
      { server_names: ['outbound_.9080_._.reviews.default.svc.cluster.local'] },
      { server_names: ['outbound_.9080_.v1_.reviews.default.svc.cluster.local'] },
    ]);
  });

  test('an unmapped port, and a port without routes, are left out with a warning', () => {
    const mesh: MeshConfig = { virtualHosts: [], clusters: [], gatewayPassthroughListeners: [{ port: 443, mode: 'PASSTHROUGH', servers: ['s'], hosts: ['*'] }, { port: 8443, mode: 'PASSTHROUGH', servers: ['t'], hosts: ['*'] }] };
    const warnings: string[] = [];
    expect(envoyPassthroughListeners(mesh, 'gw', [at(443)], addr, warnings)).toEqual([]);
    expect(warnings).toEqual([
      'Gateway port 443 (PASSTHROUGH): no route; not translated (connections are refused instead of closed)',
      'Gateway port 8443 (PASSTHROUGH) has no address in the port map: not translated',
    ]);
  });
});
