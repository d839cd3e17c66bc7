// The wasmesh proxy's ADS client against the real ADS server, delta (the default) and state of
// the world: first config applied and ACKed, a change sending only the changed piece, a config
// the proxy refuses NACKed with its reason (the proxy keeps the last good one, and a later config
// that needs a refused piece the server will not resend is still assembled), and a control plane
// that goes away and comes back on the same port: the client reconnects with backoff and resyncs
// from what it holds (delta: initial_resource_versions, and only what differs is sent).
import { createHash } from 'node:crypto';
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

/** As the control plane versions them: each piece by a hash of its stable bytes (an unchanged piece keeps its version). */
function hashedSnapshot(version: string, hosts: Array<{ name: string; prefix?: string }>): ProxySnapshot {
  const mesh = {
    clusters: [],
    virtualHosts: hosts.map((h) => ({ name: h.name, domains: [`${h.name}.example`], routes: h.prefix === undefined ? [] : [{ match: { prefix: h.prefix } }] })),
  } as never;
  const resources = proxyConfigResources({ version, mesh, warnings: [] }).map((r) => {
    const v = createHash('sha256').update(r.stable).digest('hex').slice(0, 16);
    return [r.name, { name: r.name, version: v, body: { type_url: WASMESH_TYPE_URL, value: r.body } }] as const;
  });
  return new Map([[WASMESH_TYPE_URL, { version, wildcard: true, resources: new Map(resources) }]]);
}

/** What the server put on the wire for the wasmesh type: resources per response. */
type Sent = number[];

async function server(cache: SnapshotCache, port = 0, sent: Sent = []): Promise<AdsServer> {
  const s = new AdsServer({
    cache, connect: () => {}, disconnect: () => {}, servesType: (_n, t) => t === WASMESH_TYPE_URL,
    events: { sent: (_n, t, _v, _nonce, resources) => void (t === WASMESH_TYPE_URL && sent.push(resources)) },
  });
  await s.listen('127.0.0.1', port);
  closers.push(() => s.close());
  return s;
}

function client(port: number, apply: (u: AdsUpdate) => string | null, protocol?: 'delta' | 'sotw'): AdsClient {
  const c = new AdsClient({
    target: { host: '127.0.0.1', port },
    node: { id: NODE_ID, cluster: 'Kubernetes', metadata: { NAMESPACE: 'default', WASMESH: '1', LABELS: { istio: 'ingressgateway' } } },
    types: [WASMESH_TYPE_URL],
    apply,
    log: () => {},
    backoff: { baseMs: 50, maxMs: 200 },
    protocol,
  });
  closers.push(() => c.close());
  c.start();
  return c;
}

const hostsOf = (u: AdsUpdate): string[] => assembleProxyConfig(u.resources.map((r) => r.value)).mesh.virtualHosts.map((v) => `${v.name}:${v.routes.length}`);

describe.each(['delta', 'sotw'] as const)('AdsClient (wasmesh proxies, %s)', (protocol) => {
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
    }, protocol);
    await expect.poll(() => syncState(s.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(s.proxies()[0]).toMatchObject({ kind: 'wasmesh', protocol });
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
    }, protocol);
    await expect.poll(() => c.connected).toBe(true);
    await first.close();
    await expect.poll(() => c.connected).toBe(false);
    cache.set(NODE_ID, snapshot('2', 1));
    const second = await server(cache, port);
    await expect.poll(() => syncState(second.proxies()[0]?.types.get(WASMESH_TYPE_URL)), { timeout: 5000 }).toBe('SYNCED');
    expect(versions).toEqual(['1', '2']);
  });
});

describe('AdsClient (wasmesh proxies, delta)', () => {
  it('a change sends only the changed piece; the proxy is handed the whole set', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, hashedSnapshot('1', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
    const sent: Sent = [];
    const s = await server(cache, 0, sent);
    const updates: Array<{ hosts: string[]; received: number }> = [];
    client(s.port, (u) => {
      updates.push({ hosts: hostsOf(u), received: u.received });
      return null;
    });
    await expect.poll(() => syncState(s.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(sent).toEqual([4]);
    cache.set(NODE_ID, hashedSnapshot('2', [{ name: 'a' }, { name: 'b', prefix: '/v2' }, { name: 'c' }]));
    await expect.poll(() => updates.length).toBe(2);
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    // One resource on the wire (vh/b): the header's stable bytes did not change.
    expect(sent).toEqual([4, 1]);
    expect(updates).toEqual([{ hosts: ['a:0', 'b:0', 'c:0'], received: 4 }, { hosts: ['a:0', 'b:1', 'c:0'], received: 1 }]);
    // A host removed: the header changes and vh/c goes in removed_resources.
    cache.set(NODE_ID, hashedSnapshot('3', [{ name: 'a' }, { name: 'b', prefix: '/v2' }]));
    await expect.poll(() => updates.length).toBe(3);
    expect(updates[2]).toEqual({ hosts: ['a:0', 'b:1'], received: 1 });
  });

  it('a NACK keeps the last good config; a later config needing a refused piece (not resent) is assembled from it', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, hashedSnapshot('1', [{ name: 'a' }]));
    const sent: Sent = [];
    const s = await server(cache, 0, sent);
    const serving: string[][] = [];
    client(s.port, (u) => {
      const hosts = hostsOf(u);
      if (hosts.length > 2) return `too many hosts (${hosts.length}) for this test`;
      serving.push(hosts);
      return null;
    });
    await expect.poll(() => syncState(s.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    cache.set(NODE_ID, hashedSnapshot('2', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('NACKED');
    expect(s.proxies()[0]!.types.get(WASMESH_TYPE_URL)!.nack!.message).toBe('too many hosts (3) for this test');
    expect(serving).toEqual([['a:0']]);
    // vh/b was refused at this version: the server sends only the new header, the client has vh/b aside.
    cache.set(NODE_ID, hashedSnapshot('3', [{ name: 'a' }, { name: 'b' }]));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(sent).toEqual([2, 3, 1]);
    expect(serving).toEqual([['a:0'], ['a:0', 'b:0']]);
  });

  it('a NACKed removal leaves the held set as applied (the removed piece still serves)', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, hashedSnapshot('1', [{ name: 'a' }, { name: 'b' }]));
    const s = await server(cache);
    const serving: string[][] = [];
    client(s.port, (u) => {
      const hosts = hostsOf(u);
      if (hosts.length < 2) return 'too few hosts for this test';
      serving.push(hosts);
      return null;
    });
    await expect.poll(() => syncState(s.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    cache.set(NODE_ID, hashedSnapshot('2', [{ name: 'a' }]));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('NACKED');
    // A route added to a: the set handed over still holds b (the removal was refused, and is sent again).
    cache.set(NODE_ID, hashedSnapshot('3', [{ name: 'a', prefix: '/x' }, { name: 'b' }]));
    await expect.poll(() => syncState(s.proxies()[0]!.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    expect(serving).toEqual([['a:0', 'b:0'], ['a:1', 'b:0']]);
  });

  it('reconnects with initial_resource_versions of what it holds and is sent only what changed', async () => {
    const cache = new SnapshotCache();
    cache.set(NODE_ID, hashedSnapshot('1', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
    const sentFirst: Sent = [];
    const first = await server(cache, 0, sentFirst);
    const port = first.port;
    const updates: Array<{ hosts: string[]; received: number }> = [];
    const c = client(port, (u) => {
      updates.push({ hosts: hostsOf(u), received: u.received });
      return null;
    });
    await expect.poll(() => syncState(first.proxies()[0]?.types.get(WASMESH_TYPE_URL))).toBe('SYNCED');
    await first.close();
    await expect.poll(() => c.connected).toBe(false);
    cache.set(NODE_ID, hashedSnapshot('2', [{ name: 'a' }, { name: 'b' }, { name: 'c', prefix: '/c' }]));
    const sentSecond: Sent = [];
    const second = await server(cache, port, sentSecond);
    await expect.poll(() => syncState(second.proxies()[0]?.types.get(WASMESH_TYPE_URL)), { timeout: 5000 }).toBe('SYNCED');
    expect(sentFirst).toEqual([4]);
    expect(sentSecond).toEqual([1]);
    expect(updates).toEqual([{ hosts: ['a:0', 'b:0', 'c:0'], received: 4 }, { hosts: ['a:0', 'b:0', 'c:1'], received: 1 }]);
    // Back again with nothing changed: an empty answer, ACKed, nothing applied again.
    await second.close();
    await expect.poll(() => c.connected).toBe(false);
    const sentThird: Sent = [];
    const third = await server(cache, port, sentThird);
    await expect.poll(() => syncState(third.proxies()[0]?.types.get(WASMESH_TYPE_URL)), { timeout: 5000 }).toBe('SYNCED');
    expect(sentThird).toEqual([0]);
    expect(updates).toHaveLength(2);
  });
});
