// The ADS server against malformed and hostile input, each answered as the xDS protocol (and
// istiod, go-control-plane) answer it, never with a crash, while other streams keep being
// served: bytes that are not a request, a first request without a node, an unknown or empty
// type URL (INVALID_ARGUMENT); a nonce from an earlier stream (answered as a first request,
// ACKing nothing) and a stale one (ignored); RDS/EDS names that do not exist (left out in state
// of the world, in removed_resources in delta); a client cancelling mid-stream (its proxy gone).
import { afterEach, describe, expect, it } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AdsServer } from '../../host/xds/ads-server.js';
import { SnapshotCache, type ProxySnapshot, type TypeSnapshot } from '../../host/xds/snapshot.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { syncState } from '../../host/xds/sync-status.js';
import { encodeRequest, rawAdsStream, TestAdsStream } from './ads-test-client.js';

const NODE = { id: 'sidecar~10.0.0.1~web-1.default~default.svc.cluster.local' };
const OTHER = { id: 'sidecar~10.0.0.2~web-2.default~default.svc.cluster.local' };
const CDS = TYPE_URL.cluster;
const EDS = TYPE_URL.endpoint;
const RDS = TYPE_URL.route;

function typeSnap(type: string, version: string, names: string[], wildcard: boolean): TypeSnapshot {
  return { version, wildcard, resources: new Map(names.map((n) => [n, { name: n, version, body: { type_url: type, value: Buffer.from(`${n}@${version}`) } }])) };
}

const SNAP: ProxySnapshot = new Map([
  [CDS, typeSnap(CDS, 'c1', ['a', 'b'], true)],
  [EDS, typeSnap(EDS, 'e1', ['a', 'b'], false)],
  [RDS, typeSnap(RDS, 'r1', ['80'], false)],
]);

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function start(): Promise<{ server: AdsServer; cache: SnapshotCache; events: string[] }> {
  const cache = new SnapshotCache();
  const events: string[] = [];
  const server = new AdsServer({
    cache,
    connect: (node) => {
      if (!cache.get(node.id)) cache.set(node.id, SNAP);
    },
    disconnect: (node) => events.push(`disconnect ${node.id}`),
    servesType: (_n, t) => t === CDS || t === EDS || t === RDS,
    events: {
      acked: (n, t, v) => events.push(`ack ${n.id} ${t.split('.').pop()} ${v}`),
      rejected: (_n, r) => events.push(`rejected ${r}`),
    },
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

function raw(port: number, protocol: 'sotw' | 'delta'): ReturnType<typeof rawAdsStream> {
  const s = rawAdsStream(port, protocol);
  closers.push(() => s.cancel());
  return s;
}

const names = (r: Record<string, unknown>): string[] =>
  ((r.resources as Array<{ value?: Uint8Array; name?: string; resource?: { value: Uint8Array } }>) ?? []).map((x) => (x.name !== undefined ? x.name : Buffer.from(x.value!).toString()));

/** A stream of another proxy, SYNCED on CDS, that must keep being served whatever the others do. */
async function bystander(port: number, cache: SnapshotCache): Promise<() => Promise<void>> {
  const s = open(port, 'sotw');
  s.send({ node: OTHER, type_url: CDS });
  const r = await s.next();
  s.send({ type_url: CDS, version_info: r.version_info, response_nonce: r.nonce });
  let n = 1;
  return async () => {
    n++;
    cache.set(OTHER.id, new Map([[CDS, typeSnap(CDS, `c${n}`, ['a'], true)]]));
    const pushed = await s.next();
    expect(pushed.version_info).toBe(`c${n}`);
    s.send({ type_url: CDS, version_info: pushed.version_info, response_nonce: pushed.nonce });
  };
}

describe('ADS server: malformed requests end their stream with INVALID_ARGUMENT, nothing else', () => {
  for (const protocol of ['sotw', 'delta'] as const) {
    it(`${protocol}: bytes that are not a request, first or mid-stream`, async () => {
      const { server, cache, events } = await start();
      const stillServed = await bystander(server.port, cache);
      // Wire type 7 does not exist: protobuf cannot decode it.
      const first = raw(server.port, protocol);
      first.write(Buffer.from([0x0f, 0xff, 0xff]));
      const st1 = await first.closed;
      expect(st1).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      expect(st1!.details).toMatch(/^not a envoy\.service\.discovery\.v3\.(Delta)?DiscoveryRequest: /);

      // A proxy that identified itself, then sends garbage: its stream ends, the proxy is gone.
      const mid = raw(server.port, protocol);
      mid.write(encodeRequest(protocol, { node: NODE, type_url: CDS }));
      await expect.poll(() => mid.responses.length).toBe(1);
      expect(server.proxies().map((p) => p.proxyId).sort()).toEqual([OTHER.id, NODE.id].sort());
      mid.write(Buffer.from([0x0a, 0x7f])); // field 1, length 127, 0 bytes follow: truncated
      expect(await mid.closed).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      await expect.poll(() => server.proxies().map((p) => p.proxyId)).toEqual([OTHER.id]);
      expect(events).toContain(`disconnect ${NODE.id}`);
      await stillServed();
    });

    it(`${protocol}: a first request without a node, or with a node id that is not Istio's`, async () => {
      const { server, cache } = await start();
      const stillServed = await bystander(server.port, cache);
      const none = open(server.port, protocol);
      none.send({ type_url: CDS });
      await none.closed;
      expect(none.error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      expect(none.error!.details).toContain('the first request has no node id');
      const empty = open(server.port, protocol);
      empty.send({ node: { id: '' }, type_url: CDS });
      await empty.closed;
      expect(empty.error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      const foreign = open(server.port, protocol);
      foreign.send({ node: { id: 'sidecar~only~three' }, type_url: CDS });
      await foreign.closed;
      expect(foreign.error!.details).toContain('XDS_NODE_INVALID');
      expect(server.proxies().map((p) => p.proxyId)).toEqual([OTHER.id]);
      await stillServed();
    });

    it(`${protocol}: an unknown, empty or unserved type URL, first or after a good one`, async () => {
      const { server, cache } = await start();
      const stillServed = await bystander(server.port, cache);
      for (const type of ['type.googleapis.com/envoy.nope.v3.Thing', '', TYPE_URL.listener, 'not a url at all \u0000']) {
        const s = open(server.port, protocol);
        s.send({ node: NODE, type_url: type });
        await s.closed;
        expect(s.error, JSON.stringify(type)).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
        expect(s.error!.details).toContain('unknown or unserved type_url');
      }
      const later = open(server.port, protocol);
      later.send({ node: NODE, type_url: CDS });
      await later.next();
      later.send({ type_url: 'type.googleapis.com/envoy.nope.v3.Thing' });
      await later.closed;
      expect(later.error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT });
      await expect.poll(() => server.proxies().map((p) => p.proxyId)).toEqual([OTHER.id]);
      await stillServed();
    });
  }
});

describe('ADS server: nonces belong to their stream', () => {
  it('sotw: a new stream sending the nonce of an earlier one is answered in full and ACKs nothing', async () => {
    const { server, events } = await start();
    const a = open(server.port, 'sotw');
    a.send({ node: NODE, type_url: CDS });
    const ra = await a.next();
    a.send({ type_url: CDS, version_info: 'c1', response_nonce: ra.nonce });
    await expect.poll(() => events.filter((e) => e.startsWith('ack')).length).toBe(1);

    // Stream a still open (a second stream of the same proxy), then after it ended: both times the
    // other stream's nonce is a reconnect's, answered as a first request.
    for (const closeFirst of [false, true]) {
      if (closeFirst) {
        a.close();
        await expect.poll(() => server.proxies()).toEqual([]);
      }
      const acks = events.filter((e) => e.startsWith('ack')).length;
      const b = open(server.port, 'sotw');
      b.send({ node: NODE, type_url: CDS, version_info: 'c1', response_nonce: ra.nonce });
      const rb = await b.next();
      expect([rb.version_info, names(rb)]).toEqual(['c1', ['a@c1', 'b@c1']]);
      expect(rb.nonce).not.toBe(ra.nonce);
      expect(events.filter((e) => e.startsWith('ack')).length).toBe(acks);
      expect(events.at(-1)).toMatch(/^rejected nonce \S+ for .*Cluster was not sent on this stream \(a reconnect\)/);
      expect(syncState(server.proxies()[0]!.types.get(CDS))).toBe('STALE');
      // Its own nonce ACKs; the old one, now that the type is known on this stream, is stale.
      b.send({ type_url: CDS, version_info: 'c1', response_nonce: rb.nonce });
      await expect.poll(() => syncState(server.proxies()[0]!.types.get(CDS))).toBe('SYNCED');
      b.send({ type_url: CDS, version_info: 'c1', response_nonce: ra.nonce });
      expect(await b.quiet()).toBe(true);
      expect(events.at(-1)).toMatch(/^rejected stale nonce/);
      expect(syncState(server.proxies()[0]!.types.get(CDS))).toBe('SYNCED');
      b.close();
      await expect.poll(() => server.proxies().length).toBe(closeFirst ? 0 : 1);
    }
  });

  it('delta: a new stream sending a nonce it never got is answered as a first request', async () => {
    const { server, events } = await start();
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: CDS, response_nonce: 'never-sent' });
    const r = await s.next();
    expect(names(r).sort()).toEqual(['a', 'b']);
    expect(events.some((e) => e.startsWith('ack'))).toBe(false);
    expect(events).toContain(`rejected nonce never-sent for ${CDS} was not sent on this stream (a reconnect): answered as a first request`);
    s.send({ type_url: CDS, response_nonce: 'never-sent-either' });
    expect(await s.quiet()).toBe(true);
    s.send({ type_url: CDS, response_nonce: r.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(CDS))).toBe('SYNCED');
  });
});

describe('ADS server: RDS and EDS names that do not exist', () => {
  it('sotw: left out; only unknown names is an empty resource set, ACKable, and the stream goes on', async () => {
    const { server, cache } = await start();
    const s = open(server.port, 'sotw');
    s.send({ node: NODE, type_url: EDS, resource_names: ['ghost', 'nobody'] });
    const r1 = await s.next();
    expect([r1.version_info, names(r1)]).toEqual(['e1', []]);
    s.send({ type_url: EDS, version_info: 'e1', resource_names: ['ghost', 'nobody'], response_nonce: r1.nonce });
    await expect.poll(() => syncState(server.proxies()[0]!.types.get(EDS))).toBe('SYNCED');
    s.send({ type_url: RDS, resource_names: ['8080', '80'] });
    const r2 = await s.next();
    expect(names(r2)).toEqual(['80@r1']);
    s.send({ type_url: RDS, version_info: 'r1', resource_names: ['8080', '80'], response_nonce: r2.nonce });
    // One of the names comes into existence: pushed.
    cache.set(NODE.id, new Map([...SNAP, [EDS, typeSnap(EDS, 'e2', ['a', 'ghost'], false)]]));
    const r3 = await s.next();
    expect([r3.type_url, names(r3)]).toEqual([EDS, ['ghost@e2']]);
  });

  it('delta: a name subscribed that does not exist comes back in removed_resources', async () => {
    const { server } = await start();
    const s = open(server.port, 'delta');
    s.send({ node: NODE, type_url: EDS, resource_names_subscribe: ['ghost'] });
    const r1 = await s.next();
    expect([names(r1), r1.removed_resources]).toEqual([[], ['ghost']]);
    // Subscribed while nothing is in flight: the existing name sent, the missing one removed.
    s.send({ type_url: EDS, response_nonce: r1.nonce, resource_names_subscribe: ['b', 'nobody'] });
    const r2 = await s.next();
    expect([names(r2), r2.removed_resources]).toEqual([['b'], ['nobody']]);
    // Subscribed while r3 is in flight: answered after r3's ACK, not lost.
    s.send({ type_url: RDS, resource_names_subscribe: ['80'] });
    const r3 = await s.next();
    expect(names(r3)).toEqual(['80']);
    s.send({ type_url: RDS, resource_names_subscribe: ['8080', '80'] });
    expect(await s.quiet(200)).toBe(true);
    s.send({ type_url: RDS, response_nonce: r3.nonce });
    const r4 = await s.next();
    expect([names(r4), r4.removed_resources]).toEqual([[], ['8080']]);
  });
});

describe('ADS server: clients that go away', () => {
  for (const protocol of ['sotw', 'delta'] as const) {
    it(`${protocol}: a cancel mid-stream (before and after the ACK) removes the proxy; others are served`, async () => {
      const { server, cache, events } = await start();
      const stillServed = await bystander(server.port, cache);
      for (let i = 0; i < 5; i++) {
        const s = open(server.port, protocol);
        s.send({ node: NODE, type_url: CDS });
        const r = await s.next();
        if (i % 2 === 1) s.send({ type_url: CDS, version_info: String(r.version_info ?? r.system_version_info), response_nonce: r.nonce });
        s.cancel();
        await expect.poll(() => server.proxies().map((p) => p.proxyId)).toEqual([OTHER.id]);
      }
      expect(events.filter((e) => e === `disconnect ${NODE.id}`)).toHaveLength(5);
      // A push to the cancelled proxy's snapshot goes nowhere, and breaks nothing.
      cache.set(NODE.id, new Map([[CDS, typeSnap(CDS, 'c9', ['z'], true)]]));
      await stillServed();
      expect(server.streams.size).toBe(1);
    });
  }
});
