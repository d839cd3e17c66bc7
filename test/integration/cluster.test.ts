// The cluster level through a real ProxyServer over loopback: least request under held
// requests, a generated hash cookie set on the response and sticky afterwards, the pending
// queue then 503 UO with its flag and counters, PASSTHROUGH to the authority's address, an
// ejection surviving ProxyServer.apply, and the admin /clusters text showing it.
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { request } from '../helpers/http-client.js';
import { useCleanup, proxy, upstream, waitFor } from './traffic-helpers.js';
import { renderClusters } from '../../host/admin/clusters-text.js';
import { consistentHashFromIstio } from '../../host/config/translate/consistent-hash.js';
import { circuitBreakerLimitsFromIstio } from '../../host/config/translate/circuit-breaker-limits.js';
import { outlierSettingsFromIstio } from '../../host/config/translate/outlier-settings.js';
import type { ClusterPolicy, LbPolicy, MeshConfig } from '../../host/model/mesh.js';
import { mesh } from '../helpers/mesh-fixtures.js';

useCleanup();

function withCluster(ports: number[], lb: LbPolicy, policy: Partial<ClusterPolicy> = {}): MeshConfig {
  const m = mesh([{ name: 'backend', ports }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }]);
  const c = m.clusters[0]!;
  c.lb = lb;
  c.policy = {
    connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null },
    limits: circuitBreakerLimitsFromIstio(undefined),
    outlier: null,
    hash: null,
    ...policy,
  };
  // Retries off: each request is one attempt, so counts below are exact.
  m.virtualHosts[0]!.routes[0]!.retry = { retries: 0, retryOn: [], retriableStatusCodes: [], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250 };
  return m;
}

describe('cluster level through the proxy', () => {
  it('LEAST_REQUEST sends new requests to the endpoint without held requests', async () => {
    // The first three requests to `slow` are held open; later ones it answers at once.
    const held: http.ServerResponse[] = [];
    const slow = await upstream((_q, res) => (held.length < 3 ? held.push(res) : res.end('slow')));
    const fast = await upstream((_q, res) => res.end('fast'));
    const { p } = await proxy(withCluster([slow.port, fast.port], 'LEAST_REQUEST'));
    const pending: Array<Promise<unknown>> = [];
    while (held.length < 3) {
      pending.push(request(p.port));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(p.clusters()[0]!.endpoints[0]!.activeRequests).toBe(3);
    let toFast = 0;
    for (let i = 0; i < 200; i++) if ((await request(p.port)).body.toString() === 'fast') toFast++;
    // P2C: the loaded endpoint wins only when both random choices land on it (1/4): 150 of 200
    // expected (sd 6.1). The bound is 4.9 sd below that (the picks are not seeded here: 60
    // requests with a bound 1.9 sd below failed one run in ~40), and still far above the 100 a
    // balancer that ignored the held requests would give.
    expect(toFast).toBeGreaterThan(120);
    for (const r of held) r.end('released');
    await Promise.all(pending);
    expect(p.clusters()[0]!.endpoints[0]!.activeRequests).toBe(0);
  });

  it('consistent hash on a cookie with ttl: generated, set on the response, then sticky', async () => {
    const ups = await Promise.all([0, 1, 2].map((i) => upstream((_q, res) => res.end(`e${i}`))));
    const hash = consistentHashFromIstio({ httpCookie: { name: 'user', path: '/', ttl: '3600s' } }, 'dr');
    const { p } = await proxy(withCluster(ups.map((u) => u.port), 'CONSISTENT_HASH', { hash }));
    const first = await request(p.port);
    const setCookie = first.headers['set-cookie'];
    expect(setCookie).toHaveLength(1);
    expect(setCookie![0]).toMatch(/^user="[0-9a-f]{16}"; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie![0]!.split(';')[0]!;
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await request(p.port, { headers: { cookie } });
      expect(r.headers['set-cookie']).toBeUndefined();
      bodies.add(r.body.toString());
    }
    expect(bodies).toEqual(new Set([first.body.toString()]));
  });

  it('maxConnections 1 + http1MaxPendingRequests 1: the second request waits, the third gets 503 UO', async () => {
    const held: http.ServerResponse[] = [];
    const up = await upstream((_q, res) => held.push(res));
    const limits = { ...circuitBreakerLimitsFromIstio({ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }) };
    const { p, logs } = await proxy(withCluster([up.port], 'ROUND_ROBIN', { limits }));
    const a = request(p.port);
    await waitFor(() => held.length === 1);
    const b = request(p.port);
    await waitFor(() => p.clusters()[0]!.pendingRequests === 1);
    const c = await request(p.port);
    expect(c.status).toBe(503);
    expect(c.body.toString()).toContain('overflow');
    held[0]!.end('a');
    await waitFor(() => held.length === 2);
    held[1]!.end('b');
    expect([(await a).body.toString(), (await b).body.toString()]).toEqual(['a', 'b']);
    expect(up.connections).toBe(1);
    const cs = p.stats.cluster('backend');
    expect(cs.get('upstream_rq_pending_overflow')).toBe(1);
    expect(cs.get('upstream_cx_overflow')).toBeGreaterThanOrEqual(1);
    expect(p.stats.render()).toMatch(/^cluster\.backend\.upstream_rq_pending_overflow: 1$/m);
    await waitFor(() => logs.length === 3);
    expect(logs.map((l) => l.flags).sort()).toEqual(['-', '-', 'UO']);
  });

  it('PASSTHROUGH forwards to the ip:port authority; a host name authority gets 503 UH', async () => {
    const up = await upstream((q, res) => res.end(`passthrough ${q.headers.host}`));
    const m = withCluster([], 'PASSTHROUGH');
    m.virtualHosts[0]!.domains = ['*'];
    const { p, logs } = await proxy(m);
    const r = await request(p.port, { headers: { host: `127.0.0.1:${up.port}` } });
    expect(r.body.toString()).toBe(`passthrough 127.0.0.1:${up.port}`);
    const bad = await request(p.port, { headers: { host: 'svc.test' } });
    expect(bad.status).toBe(503);
    await waitFor(() => logs.length === 2);
    expect(logs[1]!.flags).toBe('UH');
  });

  it('an ejection survives ProxyServer.apply; /clusters shows /failed_outlier_check and the stats count it', async () => {
    const bad = await upstream((_q, res) => {
      res.statusCode = 500;
      res.end('bad');
    });
    const good = await upstream((_q, res) => res.end('good'));
    const outlier = outlierSettingsFromIstio({ consecutive5xxErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 100 });
    const m1 = withCluster([bad.port, good.port], 'ROUND_ROBIN', { outlier });
    const { p } = await proxy(m1);
    for (let i = 0; i < 6; i++) await request(p.port);
    const text = renderClusters(p.clusters());
    expect(text).toContain(`backend::127.0.0.1:${bad.port}::health_flags::/failed_outlier_check`);
    expect(text).toContain(`backend::127.0.0.1:${good.port}::health_flags::healthy`);
    // Reload with the endpoints reordered: still ejected, traffic still avoids it.
    p.apply(withCluster([good.port, bad.port], 'ROUND_ROBIN', { outlier }), 2);
    expect(p.clusters()[0]!.endpoints.map((e) => e.healthy)).toEqual([true, false]);
    for (let i = 0; i < 6; i++) expect((await request(p.port)).body.toString()).toBe('good');
    const stats = p.stats.render();
    expect(stats).toMatch(/^cluster\.backend\.outlier_detection\.ejections_active: 1$/m);
    expect(stats).toMatch(/^cluster\.backend\.outlier_detection\.ejections_enforced_consecutive_5xx: 1$/m);
  });
});
