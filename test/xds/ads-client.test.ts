// The wasmesh proxy's ADS client against the real ADS server: first config applied and ACKed,
// a config the proxy refuses NACKed with its reason (the proxy keeps the last good one), and a
// control plane that goes away and comes back on the same port: the client reconnects with
// backoff and resyncs, sending the version it holds.
import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer } from '../../host/xds/ads-server.js';
import { AdsClient, type AdsUpdate } from '../../host/xds/ads-client.js';
import { SnapshotCache, type ProxySnapshot } from '../../host/xds/snapshot.js';
import { WASMESH_TYPE_URL, assembleProxyConfig, proxyConfigResources } from '../../host/xds/wasmesh-resource.js';
import { syncState } from '../../host/xds/sync-status.js';

const NODE_ID = 'router~127.0.0.1~gw-1.default~default.svc.cluster.local';
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function snapshot(version: string, hosts: number): ProxySnapshot {
  const mesh = { clusters: [], virtualHosts: Array.from({ length: hosts }, (_, i) => ({ name: `h${i}`, domains: ['*'], routes: [] })) };
  const resources = proxyConfigResources({ version, mesh, warnings: [] }).map((r) => [r.name, { name: r.name, version, body: { type_url: WASMESH_TYPE_URL, value: r.body } }] as const);
  return new Map([[WASMESH_TYPE_URL, { version, wildcard: true, resources: new Map(resources) }]]);
}

async function server(cache: SnapshotCache, port = 0): Promise<AdsServer> {
  const s = new AdsServer({ cache, connect: () => {}, disconnect: () => {}, servesType: (_n, t) => t === WASMESH_TYPE_URL });
  await s.listen('127.0.0.1', port);
  closers.push(() => s.close());
  return s;
}

function client(port: number, apply: (u: AdsUpdate) => string | null): AdsClient {
  const c = new AdsClient({
    target: { host: '127.0.0.1', port },
    node: { id: NODE_ID, cluster: 'Kubernetes', metadata: { NAMESPACE: 'default', WASMESH: '1', LABELS: { istio: 'ingressgateway' } } },
    types: [WASMESH_TYPE_URL],
    apply,
    log: () => {},
    backoff: { baseMs: 50, maxMs: 200 },
  });
  closers.push(() => c.close());
  c.start();
  return c;
}

describe('AdsClient (wasmesh proxies)', () => {
  it('applies and ACKs; NACKs what it refuses and keeps serving the last good config', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, snapshot('1', 1));
    const s = await server(cache);
    const applied: string[] = [];
    client(s.port, (u) => {
      const c = assembleProxyConfig(u.resources.map((r) => r.value));
      if (c.mesh.virtualHosts.length > 2) return 'too many hosts for this test';
      applied.push(c.version);
      return null;
    });
    await expect.poll(() => syncState(s.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(s.proxies()[0]).toMatchObject({ kind: 'wasmesh' });
    cache.set(NODE_ID, snapshot('2', 3));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('NACKED');
    expect(s.proxies()[0]!.types.get(WASMESH_TYPE_URL)!.nack!.message).toBe('too many hosts for this test');
    cache.set(NODE_ID, snapshot('3', 2));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(applied).toEqual(['1', '3']);
  });

  it('reconnects when the control plane comes back, and resyncs from the version it holds', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, snapshot('1', 1));
    const first = await server(cache);
    const port = first.port;
    const versions: string[] = [];
    const c = client(port, (u) => {
      versions.push(u.version);
      return null;
    });
    await expect.poll(() => c.connected).toBe(true);
    await first.close();
    await expect.poll(() => c.connected).toBe(false);
    cache.set(NODE_ID, snapshot('2', 1));
    const second = await server(cache, port);
    await expect.poll(() => syncState(second.proxies()[0]?.types.get(WASMESH_TYPE_URL)), { timeout: 5000 }).toBe('SYNCED');
    expect(versions).toEqual(['1', '2']);
  });
});
