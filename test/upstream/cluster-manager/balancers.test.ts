// The cluster manager's balancers over real loopback upstreams and a fake clock: least request
// prefers the less-loaded endpoint, round robin cycles, random spreads, consistent hash keeps
// keys on their endpoint (header, cookie, source IP, query parameter) and moves only an ejected
// endpoint's keys, a missing cookie with a ttl is generated; retries avoid tried endpoints;
// PASSTHROUGH forwards to the authority's address.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstream-servers.js';
import { harness, meshOf, req, histogram, attempt, type Harness } from './cluster-harness.js';
import { consistentHashFromIstio } from '../../../host/config/translate/consistent-hash.js';
import { outlierSettingsFromIstio } from '../../../host/config/translate/outlier-settings.js';

let servers: HttpUpstream[] = [];
let harnesses: Harness[] = [];

afterEach(async () => {
  for (const h of harnesses) h.close();
  for (const s of servers) await s.close();
  servers = [];
  harnesses = [];
});

function make(): Harness {
  const h = harness();
  harnesses.push(h);
  return h;
}

async function upstreams(n: number, handler?: (i: number) => http.RequestListener): Promise<HttpUpstream[]> {
  const out: HttpUpstream[] = [];
  for (let i = 0; i < n; i++) {
    const up = await startHttpUpstream(handler ? handler(i) : (_q, res) => res.end(`e${i}`));
    servers.push(up);
    out.push(up);
  }
  return out;
}

const od100 = { ...outlierSettingsFromIstio({ consecutive5xxErrors: 5, maxEjectionPercent: 100 })! };

describe('simple balancers', () => {
  it('LEAST_REQUEST prefers the endpoint with fewer requests in flight (held open on one)', async () => {
    const hold: http.ServerResponse[] = [];
    const ups = await upstreams(2, (i) => (_q, res) => (i === 0 ? hold.push(res) : res.end('fast')));
    const h = make();
    const v = h.load(meshOf(ups.map((u) => u.port), { lb: 'LEAST_REQUEST' }));
    // Load endpoint 0 with 4 held requests (picks landing on 1 complete at once).
    const held: Array<Promise<unknown>> = [];
    while (hold.length < 4) {
      const a = attempt(h, v);
      held.push(a);
      await new Promise((r) => setTimeout(r, 5));
    }
    const counts = histogram(h, v, 400);
    // P2C: endpoint 0 wins only when both random choices are 0 (1/4).
    expect(counts.get(1)! / 400).toBeGreaterThan(0.65);
    expect(h.cm.clusters()[0]!.endpoints[0]!.activeRequests).toBe(4);
    for (const r of hold) r.end('slow');
    await Promise.all(held);
    expect(h.cm.clusters()[0]!.endpoints[0]!.activeRequests).toBe(0);
    // Unloaded again: an even split.
    const even = histogram(h, v, 400);
    expect(Math.abs(even.get(0)! - 200)).toBeLessThan(60);
  });

  it('ROUND_ROBIN cycles through the endpoints in order; RANDOM spreads evenly', async () => {
    const h = make();
    const v = h.load(meshOf([1001, 1002, 1003], { lb: 'ROUND_ROBIN' }));
    const seq = Array.from({ length: 9 }, () => {
      const l = h.cm.pickEndpoint(v, 0, req())!;
      l.release();
      return l.index;
    });
    expect(seq.slice(3)).toEqual(seq.slice(0, 6));
    expect(new Set(seq.slice(0, 3)).size).toBe(3);
    const r = h.load(meshOf([1001, 1002, 1003, 1004], { lb: 'RANDOM' }));
    const counts = histogram(h, r, 4000);
    for (let i = 0; i < 4; i++) expect(Math.abs(counts.get(i)! - 1000)).toBeLessThan(150);
  });

  it('retries avoid endpoints already tried (previous_hosts), for every policy', () => {
    const h = make();
    // Round robin walks on to the untried endpoint at once.
    const rr = h.load(meshOf([1001, 1002, 1003], { lb: 'ROUND_ROBIN' }));
    for (let i = 0; i < 50; i++) {
      const l = h.cm.pickEndpoint(rr, 0, req({ tried: [0, 1] }))!;
      l.release();
      expect(l.index).toBe(2);
    }
    // Random choices re-pick up to 5 times, then take what they got (Envoy): with 2 of 3
    // endpoints tried, (2/3)^6 ≈ 9 % still land on a tried one; without the re-picks 67 % would.
    for (const lb of ['LEAST_REQUEST', 'RANDOM'] as const) {
      const v = h.load(meshOf([1001, 1002, 1003], { lb }));
      const counts = histogram(h, v, 1000, () => req({ tried: [0, 1] }));
      expect(counts.get(2)! / 1000).toBeGreaterThan(0.84);
      expect(counts.get(2)! / 1000).toBeLessThan(0.97);
    }
    const hv = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash: consistentHashFromIstio({ httpHeaderName: 'x-user' }, 'dr') }));
    const first = h.cm.pickEndpoint(hv, 0, req({ headers: [['x-user', 'alice']] }))!;
    first.release();
    const retry = h.cm.pickEndpoint(hv, 0, req({ headers: [['x-user', 'alice']], tried: [first.index] }))!;
    retry.release();
    expect(retry.index).not.toBe(first.index);
  });

  it('ejected endpoints are skipped by the table balancers; none healthy → null (UH)', async () => {
    const ups = await upstreams(2, (i) => (_q, res) => {
      res.statusCode = i === 0 ? 500 : 200;
      res.end();
    });
    const h = make();
    const v = h.load(meshOf(ups.map((u) => u.port), { lb: 'ROUND_ROBIN', outlier: od100 }));
    for (let i = 0; i < 10; i++) await attempt(h, v);
    const counts = histogram(h, v, 20);
    expect(counts.get(1)).toBe(20);
  });
});

describe('consistent hash', () => {
  const ring = (key: object) => consistentHashFromIstio({ ...key, ringHash: { minimumRingSize: 1024 } }, 'dr');

  function owners(h: Harness, v: ReturnType<Harness['load']>, keys: string[], mk: (k: string) => ReturnType<typeof req>): number[] {
    return keys.map((k) => {
      const l = h.cm.pickEndpoint(v, 0, mk(k))!;
      l.release();
      return l.index;
    });
  }

  const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);

  it('by header: a key always lands on the same endpoint; keys spread over all endpoints', () => {
    const h = make();
    const v = h.load(meshOf([1001, 1002, 1003, 1004], { lb: 'CONSISTENT_HASH', hash: ring({ httpHeaderName: 'X-User' }) }));
    const mk = (k: string) => req({ headers: [['x-user', k]] });
    const a = owners(h, v, keys, mk);
    expect(owners(h, v, keys, mk)).toEqual(a);
    expect(new Set(a).size).toBe(4);
    // Several values of the header: sorted then chained, so order does not matter.
    const ab = owners(h, v, ['x'], () => req({ headers: [['x-user', 'a'], ['x-user', 'b']] }));
    const ba = owners(h, v, ['x'], () => req({ headers: [['x-user', 'b'], ['x-user', 'a']] }));
    expect(ab).toEqual(ba);
  });

  it('an ejected endpoint moves only its own keys, and they come back when it returns', async () => {
    const ups = await upstreams(4, (i) => (_q, res) => {
      res.statusCode = i === 2 ? 503 : 200;
      res.end();
    });
    const h = make();
    const v = h.load(meshOf(ups.map((u) => u.port), { lb: 'CONSISTENT_HASH', hash: ring({ httpHeaderName: 'x-user' }), outlier: od100 }));
    const mk = (k: string) => req({ headers: [['x-user', k]] });
    const before = owners(h, v, keys, mk);
    // Drive five 5xx to endpoint 2 using a key it owns.
    const victimKey = keys[before.indexOf(2)]!;
    for (let i = 0; i < 5; i++) expect((await attempt(h, v, mk(victimKey))).result).toBe(503);
    expect(h.cm.clusters()[0]!.endpoints[2]!.healthFlags).toBe('/failed_outlier_check');
    const during = owners(h, v, keys, mk);
    keys.forEach((_, i) => {
      if (before[i] === 2) expect(during[i]).not.toBe(2);
      else expect(during[i]).toBe(before[i]);
    });
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(1);
    expect(owners(h, v, keys, mk)).toEqual(before);
  });

  it('by cookie: present → hashed; absent with ttl → generated, set on the response, sticky afterwards', () => {
    const h = make();
    const hash = consistentHashFromIstio({ httpCookie: { name: 'session', path: '/', ttl: '60s' } }, 'dr');
    const v = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash }));
    const first = h.cm.pickEndpoint(v, 0, req({ clientIp: '10.9.9.9', clientPort: 40000 }))!;
    first.release();
    expect(first.setCookie).toMatch(/^session="[0-9a-f]{16}"; Max-Age=60; Path=\/; HttpOnly$/);
    const value = /"([0-9a-f]+)"/.exec(first.setCookie!)![1]!;
    for (let i = 0; i < 10; i++) {
      const l = h.cm.pickEndpoint(v, 0, req({ headers: [['cookie', `a=b; session="${value}"`]] }))!;
      l.release();
      expect(l.setCookie).toBeUndefined();
      expect(l.index).toBe(first.index);
    }
    // Without a ttl nothing is generated: random picks.
    const noTtl = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash: consistentHashFromIstio({ httpCookie: { name: 'session' } }, 'dr') }));
    const l = h.cm.pickEndpoint(noTtl, 0, req())!;
    l.release();
    expect(l.setCookie).toBeUndefined();
    expect(histogram(h, noTtl, 600).size).toBe(3);
  });

  it('by source IP and by query parameter (first raw value); a request without its key gets a random endpoint', () => {
    const h = make();
    const ips = Array.from({ length: 100 }, (_, i) => `10.0.${i}.7`);
    const v = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash: ring({ useSourceIp: true }) }));
    const a = owners(h, v, ips, (ip) => req({ clientIp: ip }));
    expect(owners(h, v, ips, (ip) => req({ clientIp: ip, headers: [['x-other', ip]] }))).toEqual(a);
    expect(new Set(a).size).toBe(3);

    const q = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash: ring({ httpQueryParameterName: 'u' }) }));
    const b = owners(h, q, keys, (k) => req({ path: `/p?x=1&u=${k}&u=other` }));
    expect(owners(h, q, keys, (k) => req({ path: `/other?u=${k}` }))).toEqual(b);
    expect(new Set(b).size).toBe(3);
    expect(histogram(h, q, 600, () => req({ path: '/p?x=1' })).size).toBe(3);
  });

  it('maglev tables work the same way', () => {
    const h = make();
    const v = h.load(meshOf([1001, 1002, 1003], { lb: 'CONSISTENT_HASH', hash: consistentHashFromIstio({ httpHeaderName: 'x-user', maglev: { tableSize: 65537 } }, 'dr') }));
    const mk = (k: string) => req({ headers: [['x-user', k]] });
    const a = owners(h, v, keys, mk);
    expect(owners(h, v, keys, mk)).toEqual(a);
    expect(new Set(a).size).toBe(3);
  });
});

describe('PASSTHROUGH', () => {
  it('forwards to the authority when it is ip:port, refuses a host name', async () => {
    const [up] = await upstreams(1);
    const h = make();
    const mesh = meshOf([], { lb: 'PASSTHROUGH' });
    const v = h.load(mesh);
    const r = await attempt(h, v, req({ authority: `127.0.0.1:${up!.port}` }));
    expect(r.result).toBe(200);
    expect(r.body).toBe('e0');
    expect(r.lease!.index).toBe(-1);
    expect(h.cm.pickEndpoint(v, 0, req({ authority: 'svc.example:80' }))).toBeNull();
    expect(h.cm.pickEndpoint(v, 0, req({ authority: '[::1]:8080' }))!.endpoint.address).toBe('::1');
  });
});
