// The ADS server over real gRPC on loopback, both protocol variants, with hand-set snapshots:
// first responses, ACK and NACK (the refused version is not sent again, the NACK is recorded),
// stale nonces ignored, pushes of what changed only, names asked for on RDS/EDS, a node id
// that is not Istio's and an unknown type refused with INVALID_ARGUMENT, an empty list after
// names unsubscribing from all, close() ending open streams; delta subscriptions, initial
// versions, removals, one response in flight per type, and a subscription that arrives while a
// response is in flight answered after its ACK or NACK (without the refused resources again).
import { afterEach, describe, expect, it } from 'vitest';
import { AdsServer, type AdsServerOptions } from '../../host/xds/ads-server.js';
import { SnapshotCache, type ProxySnapshot, type TypeSnapshot, type XdsResource } from '../../host/xds/snapshot.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { syncState } from '../../host/xds/sync-status.js';
import { TestAdsStream } from './ads-test-client.js';

const NODE = { id: 'sidecar~10.0.0.1~web-1.default~default.svc.cluster.local', metadata: { fields: { NAMESPACE: { stringValue: 'default' } } } };
const CDS = TYPE_URL.cluster;
const EDS = TYPE_URL.endpoint;

function res(type: string, name: string, version: string): XdsResource {
  return { name, version, body: { type_url: type, value: Buffer.from(`${name}@${version}`) } };
}

function typeSnap(type: string, version: string, names: Array<[string, string]>, wildcard: boolean): TypeSnapshot {
  return { version, wildcard, resources: new Map(names.map(([n, v]) => [n, res(type, n, v)])) };
}

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function start(snapshot: ProxySnapshot, extra: Partial<AdsServerOptions> = {}): Promise<{ server: AdsServer; cache: SnapshotCache; events: string[] }> {
  const cache = new SnapshotCache();
  const events: string[] = [];
  const server = new AdsServer({
    cache,
    connect: (node) => {
      if (!cache.get(node.id)) cache.set(node.id, snapshot);
    },
    disconnect: () => {},
    servesType: (_n, t) => t === CDS || t === EDS,
    events: {
      acked: (_n, t, v) => events.push(`ack ${t.split('.').pop()} ${v}`),
      nacked: (_n, t, v, m) => events.push(`nack ${t.split('.').pop()} ${v} ${m}`),
      rejected: (_n, r) => events.push(`rejected ${r}`),
    },
    ...extra,
  });
  await server.listen('127.0.0.1', 0);
  closers.push(() => server.close());
  return { server, cache, events };
}

function open(port: number, protocol: 'sotw' | 'delta'): TestAdsStream {
  const s = new TestAdsStream(port, protocol);
  closers.push(() => s.close());
  return s;
}

const names = (r: Record<string, unknown>): string[] =>
  ((r.resources as Array<{ value?: Uint8Array; resource?: { value: Uint8Array } }>) ?? []).map((x) => Buffer.from(x.value ?? x.resource!.value).toString());

describe('ADS, state of the world', () => {
  it('under a write bound smaller than any response, every stream still gets each response, in warming order', async () => {
    const snap = new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1'], ['b', '1']], true)], [EDS, typeSnap(EDS, 'e1', [['a', '1']], false)]]);
    const { server, cache } = await start(snap, { maxWriteBytes: 1 });
    const streams = [open(server.port, 'sotw'), open(server.port, 'sotw'), open(server.port, 'sotw')];
    for (const s of streams) s.send({ node: NODE, type_url: CDS });
    for (const s of streams) {
      const r = await s.next();
      expect(names(r)).toEqual(['a@1', 'b@1']);
      s.send({ type_url: CDS, version_info: 'v1', response_nonce: r.nonce });
      s.send({ type_url: EDS, resource_names: ['a'] });
    }
    for (const s of streams) {
      const e = await s.next();
      expect(names(e)).toEqual(['a@1']);
      s.send({ type_url: EDS, version_info: 'e1', resource_names: ['a'], response_nonce: e.nonce });
    }
    // One change, to all three streams at once: each gets CDS, then EDS — each write leaving the
    // bound as grpc-js hands it over, not after the 1 s a stalled write is given.
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '2'], ['b', '1']], true)], [EDS, typeSnap(EDS, 'e2', [['a', '2']], false)]]));
    for (const s of streams) {
      const [c, e] = [await s.next(900), await s.next(900)];
      expect([c.type_url, c.version_info, e.type_url, e.version_info]).toEqual([CDS, 'v2', EDS, 'e2']);
      expect(names(e)).toEqual(['a@2']);
    }
    expect(server.throttle.waiting).toBe(0);
  });

  it('answers the first request, takes the ACK, pushes only what changed, in warming order', async () => {
    const snap = new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1'], ['b', '1']], true)], [EDS, typeSnap(EDS, 'e1', [['a', '1'], ['b', '1']], false)]]);
    const { server, cache, events } = await start(snap);
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS });
    const r1 = await s.next();
    expect(r1).toMatchObject({ version_info: 'v1', type_url: CDS });
    expect(names(r1)).toEqual(['a@1', 'b@1']);
    s.send({ type_url: CDS, version_info: 'v1', response_nonce: r1.nonce });
    // EDS: only the names asked for.
    s.send({ type_url: EDS, resource_names: ['b', 'missing'] });
    const e1 = await s.next();
    expect(names(e1)).toEqual(['b@1']);
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['b', 'missing'], response_nonce: e1.nonce });
    expect(await s.quiet()).toBe(true);
    expect(events).toEqual(['ack Cluster v1', 'ack ClusterLoadAssignment e1']);
    // An endpoint change pushes EDS alone; a cluster change too pushes CDS before EDS.
    cache.set(NODE.id, new Map([[CDS, snap.get(CDS)!], [EDS, typeSnap(EDS, 'e2', [['a', '1'], ['b', '2']], false)]]));
    const e2 = await s.next();
    expect([e2.type_url, e2.version_info, names(e2)]).toEqual([EDS, 'e2', ['b@2']]);
    expect(await s.quiet()).toBe(true);
    cache.set(NODE.id, new Map([[EDS, typeSnap(EDS, 'e3', [['b', '3']], false)], [CDS, typeSnap(CDS, 'v2', [['b', '1']], true)]]));
    const [first, second] = [await s.next(), await s.next()];
    expect([first.type_url, second.type_url]).toEqual([CDS, EDS]);
    const sync = server.proxies()[0]!.types.get(CDS);
    expect(syncState(sync)).toBe('STALE');
    s.send({ type_url: CDS, version_info: 'v2', response_nonce: first.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(CDS))).toBe('SYNCED');
  });

  it('RDS and EDS: a change sends only the resources that differ from what was sent; after a NACK or new names, all', async () => {
    const eds = (v: string, names: Array<[string, string]>) => new Map([[EDS, typeSnap(EDS, v, names, false)]]);
    const { server, cache } = await start(eds('e1', [['a', '1'], ['b', '1'], ['c', '1']]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: EDS, resource_names: ['a', 'b'] });
    const e1 = await s.next();
    expect(names(e1)).toEqual(['a@1', 'b@1']);
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['a', 'b'], response_nonce: e1.nonce });
    // b changed: b alone (a left out is not removed, in SotW, for EDS and RDS).
    cache.set(NODE.id, eds('e2', [['a', '1'], ['b', '2'], ['c', '1']]));
    const e2 = await s.next();
    expect([e2.version_info, names(e2)]).toEqual(['e2', ['b@2']]);
    s.send({ type_url: EDS, version_info: 'e2', resource_names: ['a', 'b'], response_nonce: e2.nonce });
    // Only c, which this proxy did not ask for, changed: nothing to send.
    cache.set(NODE.id, eds('e3', [['a', '1'], ['b', '2'], ['c', '2']]));
    expect(await s.quiet()).toBe(true);
    // A NACK: the proxy kept what it had, so the next change is sent whole.
    cache.set(NODE.id, eds('e4', [['a', '2'], ['b', '2'], ['c', '2']]));
    const e4 = await s.next();
    expect(names(e4)).toEqual(['a@2']);
    s.send({ type_url: EDS, version_info: 'e2', resource_names: ['a', 'b'], response_nonce: e4.nonce, error_detail: { code: 3, message: 'a: bad' } });
    expect(await s.quiet()).toBe(true);
    cache.set(NODE.id, eds('e5', [['a', '3'], ['b', '2'], ['c', '2']]));
    const e5 = await s.next();
    expect(names(e5)).toEqual(['a@3', 'b@2']);
    // Other names asked for: every name asked for.
    s.send({ type_url: EDS, version_info: 'e5', resource_names: ['a', 'b', 'c'], response_nonce: e5.nonce });
    const e6 = await s.next();
    expect(names(e6)).toEqual(['a@3', 'b@2', 'c@2']);
  });

  it('a NACK keeps the refused version from being sent again and is recorded; a new version goes out', async () => {
    const { server, cache, events } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS });
    const r1 = await s.next();
    s.send({ type_url: CDS, version_info: '', response_nonce: r1.nonce, error_detail: { code: 3, message: 'cluster a: bad' } });
    expect(await s.quiet()).toBe(true);
    expect(events).toEqual(['nack Cluster v1 cluster a: bad']);
    expect(syncState(server.proxies()[0]!.types.get(CDS))).toBe('NACKED');
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '2']], true)]]));
    const r2 = await s.next();
    expect(r2.version_info).toBe('v2');
  });

  it('a request with a nonce that is not the latest is stale: nothing changes, nothing is sent', async () => {
    const { server, cache, events } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS });
    const r1 = await s.next();
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '2']], true)]]));
    const r2 = await s.next();
    // The ACK of the first response arrives late: ignored.
    s.send({ type_url: CDS, version_info: 'v1', response_nonce: r1.nonce });
    expect(await s.quiet()).toBe(true);
    expect(events.some((e) => e.startsWith('rejected stale nonce'))).toBe(true);
    expect(syncState(server.proxies()[0]!.types.get(CDS))).toBe('STALE');
    s.send({ type_url: CDS, version_info: 'v2', response_nonce: r2.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(CDS))).toBe('SYNCED');
  });

  it('refuses a node id that is not Istio\'s and an unknown type with INVALID_ARGUMENT, without crashing', async () => {
    const { server } = await start(new Map());
    const bad = open(server.port, 'sotw');
    bad.send({ node: { id: 'just-me' }, type_url: CDS });
    await bad.closed;
    expect(bad.error).toMatchObject({ code: 3 });
    expect(bad.error!.details).toMatch(/node id "just-me"/);
    const unknown = open(server.port, 'sotw');
    unknown.send({ node: NODE, type_url: 'type.googleapis.com/envoy.nope.v3.Thing' });
    await unknown.closed;
    expect(unknown.error).toMatchObject({ code: 3 });
    // The server still serves.
    const ok = open(server.port, 'sotw');
    ok.send({ node: NODE, type_url: CDS });
    expect((await ok.next()).type_url).toBe(CDS);
  });

  it('an empty list is a wildcard only until names were asked for: then it unsubscribes from all (legacy wildcard)', async () => {
    const { server } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1'], ['b', '1']], true)]]));
    // A proxyless gRPC client names its cluster, then closes its last channel.
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS, resource_names: ['a'] });
    const r1 = await s.next();
    expect(names(r1)).toEqual(['a@1']);
    s.send({ type_url: CDS, version_info: 'v1', resource_names: [], response_nonce: r1.nonce });
    expect(names(await s.next())).toEqual([]);
    // Envoy's wildcard: empty from the first request on, every cluster.
    const w = open(server.port, 'sotw');
    w.send({ node: NODE, type_url: CDS });
    expect(names(await w.next())).toEqual(['a@1', 'b@1']);
  });

  it('a proxy that asks for no EDS name (its last EDS cluster gone) is not answered, nor pushed changes: IGNORED', async () => {
    const { server, cache } = await start(new Map([[EDS, typeSnap(EDS, 'e1', [['a', '1']], false)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: EDS, resource_names: ['a'] });
    const r1 = await s.next();
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['a'], response_nonce: r1.nonce });
    // Envoy drops its last EDS watch: an empty list, which it would take an answer to without an ACK.
    s.send({ type_url: EDS, version_info: 'e1', resource_names: [], response_nonce: r1.nonce });
    expect(await s.quiet()).toBe(true);
    cache.set(NODE.id, new Map([[EDS, typeSnap(EDS, 'e2', [['a', '2']], false)]]));
    expect(await s.quiet()).toBe(true);
    expect(syncState(server.proxies()[0]!.types.get(EDS))).toBe('IGNORED');
    // Asking for a name again is answered with the current version.
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['a'], response_nonce: r1.nonce });
    expect(names(await s.next())).toEqual(['a@2']);
    expect(syncState(server.proxies()[0]!.types.get(EDS))).toBe('STALE');
  });

  it('an empty EDS list with the nonce before a response on its way (Envoy\'s last EDS cluster removed): IGNORED, not STALE for ever', async () => {
    const { server, cache } = await start(new Map([[EDS, typeSnap(EDS, 'e1', [['a', '1']], false)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: EDS, resource_names: ['a'] });
    const r1 = await s.next();
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['a'], response_nonce: r1.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(EDS))).toBe('SYNCED');
    // The cluster goes as its endpoints change: the server pushes EDS (a's new endpoints) as
    // Envoy drops its watch and says so with r1's nonce; Envoy takes the push without a word.
    cache.set(NODE.id, new Map([[EDS, typeSnap(EDS, 'e2', [['a', '2']], false)]]));
    const r2 = await s.next();
    expect(names(r2)).toEqual(['a@2']);
    s.send({ type_url: EDS, version_info: 'e1', resource_names: [], response_nonce: r1.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(EDS))).toBe('IGNORED');
    // A stale request that names something is still ignored: nothing changes, nothing is sent.
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['b'], response_nonce: r1.nonce });
    expect(await s.quiet()).toBe(true);
    expect(syncState(server.proxies()[0]!.types.get(EDS))).toBe('IGNORED');
  });

  it('after a legacy-wildcard unsubscribe from all clusters, a change pushes nothing', async () => {
    const { server, cache } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS, resource_names: ['a'] });
    const r1 = await s.next();
    s.send({ type_url: CDS, version_info: 'v1', resource_names: [], response_nonce: r1.nonce });
    const r2 = await s.next();
    expect(names(r2)).toEqual([]);
    s.send({ type_url: CDS, version_info: 'v1', resource_names: [], response_nonce: r2.nonce });
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '2'], ['b', '1']], true)]]));
    expect(await s.quiet()).toBe(true);
  });

  it('close() ends the open streams and returns though a client keeps its half open', async () => {
    const { server } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: CDS });
    await s.next();
    const t0 = Date.now();
    await server.close();
    await s.closed;
    expect(server.proxies()).toEqual([]);
    // Ended, not cut after the one-second grace.
    expect(Date.now() - t0).toBeLessThan(900);
  });
});

describe('ADS, incremental (delta)', () => {
  it('sends what the proxy lacks, then changes and removals only; one response in flight per type', async () => {
    const { server, cache } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1'], ['b', '1'], ['c', '1']], true)]]));
    const s = open(server.port, 'delta');
    // The proxy already holds a@1 (a reconnect): it is not sent again.
    s.send({ node: NODE, type_url: CDS, initial_resource_versions: { a: '1' } });
    const r1 = await s.next();
    expect((r1.resources as Array<{ name: string }>).map((r) => r.name).sort()).toEqual(['b', 'c']);
    expect(r1.system_version_info).toBe('v1');
    // Changes before the ACK wait for it.
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '1'], ['b', '2']], true)]]));
    expect(await s.quiet()).toBe(true);
    s.send({ type_url: CDS, response_nonce: r1.nonce });
    // The ACK applied b@1, c@1: the change of b and the removal of c follow.
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v3', [['a', '1'], ['b', '2']], true)]]));
    const r2 = await s.next();
    expect((r2.resources as Array<{ name: string; version: string }>).map((r) => `${r.name}@${r.version}`)).toEqual(['b@2']);
    expect(r2.removed_resources).toEqual(['c']);
  });

  it('explicit subscriptions: only the names subscribed, unsubscribing drops them', async () => {
    const { server } = await start(new Map([[EDS, typeSnap(EDS, 'e1', [['a', '1'], ['b', '1']], false)]]));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['a'] });
    const r1 = await s.next();
    expect((r1.resources as Array<{ name: string }>).map((r) => r.name)).toEqual(['a']);
    s.send({ type_url: EDS, response_nonce: r1.nonce, resource_names_subscribe: ['b'] });
    const r2 = await s.next();
    expect((r2.resources as Array<{ name: string }>).map((r) => r.name)).toEqual(['b']);
  });
});

describe('ADS, incremental (delta): a cluster updated in place', () => {
  const both = (cds: Array<[string, string]>, eds: Array<[string, string]>, v: string): ProxySnapshot =>
    new Map([[CDS, typeSnap(CDS, `c${v}`, cds, true)], [EDS, typeSnap(EDS, `e${v}`, eds, false)]]);
  const got = (r: Record<string, unknown>): string[] => (r.resources as Array<{ name: string; version: string }>).map((x) => `${x.name}@${x.version}`);

  it('its unchanged endpoints follow the CDS response (Envoy warms the new cluster until they come); a new or untouched cluster\'s do not', async () => {
    const { server, cache } = await start(both([['a', '1'], ['b', '1']], [['a', '1'], ['b', '1']], '1'));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: CDS });
    const c1 = await s.next();
    s.send({ type_url: CDS, response_nonce: c1.nonce });
    s.send({ type_url: EDS, resource_names_subscribe: ['a', 'b'] });
    const e1 = await s.next();
    expect(got(e1).sort()).toEqual(['a@1', 'b@1']);
    s.send({ type_url: EDS, response_nonce: e1.nonce });
    // a's config changes, b's does not, c is new; no ClusterLoadAssignment changes.
    cache.set(NODE.id, both([['a', '2'], ['b', '1'], ['c', '1']], [['a', '1'], ['b', '1'], ['c', '1']], '2'));
    const c2 = await s.next();
    expect(c2.type_url).toBe(CDS);
    expect(got(c2).sort()).toEqual(['a@2', 'c@1']);
    const e2 = await s.next();
    expect(e2.type_url).toBe(EDS);
    expect(got(e2)).toEqual(['a@1']);
    s.send({ type_url: EDS, response_nonce: e2.nonce });
    s.send({ type_url: CDS, response_nonce: c2.nonce });
    expect(await s.quiet()).toBe(true);
  });

  it('with an EDS response in flight, they go after its ACK', async () => {
    const { server, cache } = await start(both([['a', '1']], [['a', '1']], '1'));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: CDS });
    const c1 = await s.next();
    s.send({ type_url: CDS, response_nonce: c1.nonce });
    s.send({ type_url: EDS, resource_names_subscribe: ['a'] });
    const e1 = await s.next();
    // The EDS response is not ACKed yet when a's config changes.
    cache.set(NODE.id, both([['a', '2']], [['a', '1']], '2'));
    const c2 = await s.next();
    expect(got(c2)).toEqual(['a@2']);
    expect(await s.quiet()).toBe(true);
    s.send({ type_url: EDS, response_nonce: e1.nonce });
    const e2 = await s.next();
    expect(e2.type_url).toBe(EDS);
    expect(got(e2)).toEqual(['a@1']);
  });
});

describe('ADS, incremental (delta): a subscription while a response is in flight', () => {
  it('is answered after that response\'s ACK, though the snapshot did not change meanwhile', async () => {
    const { server } = await start(new Map([[EDS, typeSnap(EDS, 'e1', [['a', '1'], ['b', '1']], false)]]));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['a'] });
    const r1 = await s.next();
    expect((r1.resources as Array<{ name: string }>).map((r) => r.name)).toEqual(['a']);
    // Envoy subscribes to a new name (a new cluster warming) before it has ACKed r1: no nonce.
    s.send({ type_url: EDS, resource_names_subscribe: ['b'] });
    expect(await s.quiet()).toBe(true);
    s.send({ type_url: EDS, response_nonce: r1.nonce });
    const r2 = await s.next();
    expect((r2.resources as Array<{ name: string }>).map((r) => r.name)).toEqual(['b']);
  });

  it('is answered after a NACK of that response too, without the refused resource again', async () => {
    const { server } = await start(new Map([[EDS, typeSnap(EDS, 'e1', [['a', '1'], ['b', '1']], false)]]));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['a'] });
    const r1 = await s.next();
    s.send({ type_url: EDS, resource_names_subscribe: ['b'] });
    s.send({ type_url: EDS, response_nonce: r1.nonce, error_detail: { code: 3, message: 'a is refused' } });
    const r2 = await s.next();
    expect((r2.resources as Array<{ name: string }>).map((r) => r.name)).toEqual(['b']);
  });

  it('a NACKed version is sent again once another version went in between (a revert)', async () => {
    const { server, cache } = await start(new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: CDS });
    const r1 = await s.next();
    s.send({ type_url: CDS, response_nonce: r1.nonce, error_detail: { code: 3, message: 'a@1 is refused' } });
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v2', [['a', '2']], true)]]));
    const r2 = await s.next();
    expect((r2.resources as Array<{ name: string; version: string }>).map((r) => `${r.name}@${r.version}`)).toEqual(['a@2']);
    s.send({ type_url: CDS, response_nonce: r2.nonce });
    cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'v1', [['a', '1']], true)]]));
    const r3 = await s.next();
    expect((r3.resources as Array<{ name: string; version: string }>).map((r) => `${r.name}@${r.version}`)).toEqual(['a@1']);
  });
});
