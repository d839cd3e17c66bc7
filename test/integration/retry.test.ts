// Retries and timeouts over real sockets: each retry condition, attempts exhausted (URX),
// x-envoy-attempt-count, previous-hosts selection, per-try and route timeouts, body replay
// and the body buffer limit. Backoff is seeded (ProxyServer seed) and at most 250 ms.
import { describe, it, expect } from 'vitest';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { readHead } from '../helpers/upstream-servers.js';
import { closedPort } from '../helpers/ports.js';
import { request } from '../helpers/http-client.js';
import { proxy, upstream, raw, meshWith, waitFor, readBody, useCleanup } from './traffic-helpers.js';

useCleanup();

const retries = (r: Parameters<typeof retryPolicyFromIstio>[0]) => ({ retry: retryPolicyFromIstio(r) });

describe('retries: conditions', () => {
  it('5xx: a 503 is retried on another try with x-envoy-attempt-count 1 then 2; success counted', async () => {
    let n = 0;
    const up = await upstream((_req, res) => {
      res.statusCode = n++ === 0 ? 503 : 200;
      res.end(`try ${n}`);
    });
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: '5xx' })));
    const r = await request(p.port);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('try 2');
    expect(up.requests.map((q) => q.headers['x-envoy-attempt-count'])).toEqual(['1', '2']);
    await waitFor(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ code: 200, flags: '-', attempts: 2 });
    const cs = p.stats.cluster('backend');
    expect(cs.get('upstream_rq_retry')).toBe(1);
    expect(cs.get('upstream_rq_retry_success')).toBe(1);
    expect(cs.get('upstream_rq_503')).toBe(1);
    expect(cs.get('upstream_rq_200')).toBe(1);
    expect(p.stats.render()).toMatch(/^cluster\.backend\.upstream_rq_retry: 1$/m);
  });

  it('attempts exhausted: the last response goes downstream with flag URX', async () => {
    const up = await upstream((_req, res) => {
      res.statusCode = 500;
      res.end('broken');
    });
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: '5xx' })));
    const r = await request(p.port);
    expect(r.status).toBe(500);
    expect(r.body.toString()).toBe('broken');
    expect(up.requests.length).toBe(3);
    await waitFor(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ code: 500, flags: 'URX', attempts: 3 });
    expect(p.stats.cluster('backend').get('upstream_rq_retry_limit_exceeded')).toBe(1);
    expect(p.stats.cluster('backend').get('upstream_rq_retry')).toBe(2);
  });

  it('gateway-error retries 502/503/504 but not 500; retriable-4xx retries 409; numeric codes retry that code', async () => {
    const seq = (codes: number[]) => {
      let i = 0;
      return (_req: unknown, res: import('node:http').ServerResponse) => {
        res.statusCode = codes[Math.min(i++, codes.length - 1)]!;
        res.end();
      };
    };
    const cases: Array<[string, number[], number, number]> = [
      ['gateway-error', [504, 200], 200, 2],
      ['gateway-error', [500, 200], 500, 1],
      ['retriable-4xx', [409, 200], 200, 2],
      ['retriable-4xx', [404, 200], 404, 1],
      ['418', [418, 200], 200, 2],
      ['connect-failure', [503, 200], 503, 1],
    ];
    for (const [on, codes, status, tries] of cases) {
      const up = await upstream(seq(codes));
      const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 3, retryOn: on })));
      const r = await request(p.port);
      expect([on, r.status, up.requests.length]).toEqual([on, status, tries]);
    }
  });

  it('Istio\'s default policy (no retries field) retries no status code', async () => {
    const up = await upstream((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }]));
    expect((await request(p.port)).status).toBe(503);
    expect(up.requests.length).toBe(1);
  });

  it('reset: a connection closed before the head is retried with retryOn reset, answered 503 UC without', async () => {
    const serve = async (s: import('node:net').Socket, i: number) => {
      await readHead(s);
      if (i === 0) s.destroy();
      else s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    };
    const up = await raw((s, i) => void serve(s, i).catch(() => {}));
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: 'reset' })));
    const r = await request(p.port);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('ok');
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.attempts).toBe(2);

    const up2 = await raw((s) => void readHead(s).then(() => s.destroy(), () => {}));
    const { p: p2, logs: logs2 } = await proxy(meshWith([{ name: 'backend', ports: [up2.port] }]));
    const r2 = await request(p2.port);
    expect(r2.status).toBe(503);
    await waitFor(() => logs2.length === 1);
    expect(logs2[0]!.flags).toBe('UC');
    expect(up2.connections).toBe(1);
  });

  it('connect-failure (Istio default policy): a dead endpoint is retried on the live one, never the same host twice', async () => {
    const dead = await closedPort();
    const up = await upstream((_req, res) => res.end('live'));
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [dead, up.port] }]));
    for (let i = 0; i < 6; i++) {
      const r = await request(p.port);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('live');
    }
    await waitFor(() => logs.length === 6);
    // Each request that tried the dead endpoint first took exactly one retry, on the live one
    // (previous hosts are avoided), never a third try.
    const retried = logs.filter((l) => l.attempts === 2).length;
    expect(retried).toBeGreaterThanOrEqual(1);
    expect(retried).toBe(p.stats.cluster('backend').get('upstream_cx_connect_fail'));
    expect(logs.every((l) => l.attempts! <= 2 && l.upstreamHost === `127.0.0.1:${up.port}`)).toBe(true);
    expect(up.requests.filter((q) => q.headers['x-envoy-attempt-count'] === '2').length).toBe(retried);
  });
});

describe('retries: timeouts', () => {
  it('perTryTimeout: a slow try is abandoned and retried; upstream_rq_per_try_timeout counted', async () => {
    let n = 0;
    const up = await upstream((_req, res) => {
      if (n++ === 0) setTimeout(() => res.end('slow'), 600);
      else res.end('fast');
    });
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: 'reset', perTryTimeout: '100ms' })));
    const r = await request(p.port);
    expect(r.status).toBe(200);
    // 'fast' is the second try's answer: the slow first try (600 ms) was abandoned, not awaited.
    expect(r.body.toString()).toBe('fast');
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.attempts).toBe(2);
    expect(p.stats.cluster('backend').get('upstream_rq_per_try_timeout')).toBe(1);
  });

  it('per-try timeout on the last try: 504 UT with URX', async () => {
    const up = await upstream((_req, res) => void setTimeout(() => res.end('slow'), 400));
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 1, retryOn: '5xx', perTryTimeout: '80ms' })));
    const r = await request(p.port);
    expect(r.status).toBe(504);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UT,URX');
    expect(p.stats.cluster('backend').get('upstream_rq_per_try_timeout')).toBe(2);
  });

  it('the route timeout covers all tries: 504 UT when it expires between or during retries', async () => {
    // A route timeout of 500 ms over tries of 60 ms: room for several tries even when a loaded
    // machine stalls the event loop for a while (a stall past both timers fires them in order of
    // expiry, and the route's 504 then comes before the retry's backoff).
    const up = await upstream((_req, res) => void setTimeout(() => res.end('slow'), 2000));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], { ...retries({ attempts: 10, retryOn: '5xx', perTryTimeout: '60ms' }), timeoutMs: 500 });
    const { p, logs } = await proxy(m);
    const t0 = Date.now();
    const r = await request(p.port);
    const took = Date.now() - t0;
    expect(r.status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(490);
    expect(took).toBeLessThan(1500);
    expect(up.requests.length).toBeGreaterThanOrEqual(2);
    expect(up.requests.length).toBeLessThan(9);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('UT');
  });
});

describe('retries: request bodies', () => {
  it('replays a buffered POST body on the retry', async () => {
    let n = 0;
    const bodies: string[] = [];
    const up = await upstream(async (req, res) => {
      bodies.push(await readBody(req));
      res.statusCode = n++ === 0 ? 503 : 200;
      res.end('echo:' + bodies[bodies.length - 1]);
    });
    const { p } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: '5xx' })));
    const payload = 'x'.repeat(200_000);
    const r = await request(p.port, { method: 'POST', body: payload });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('echo:' + payload);
    expect(bodies).toEqual([payload, payload]);
  });

  it('never retries a body that outgrew the retry buffer (limits.retryBufferBytes)', async () => {
    const up = await upstream(async (req, res) => {
      await readBody(req);
      res.statusCode = 503;
      res.end();
    });
    const { p, logs } = await proxy(meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 2, retryOn: '5xx' })), { limits: { retryBufferBytes: 1024 } });
    const r = await request(p.port, { method: 'POST', body: 'y'.repeat(8 * 1024) });
    expect(r.status).toBe(503);
    expect(up.requests.length).toBe(1);
    await waitFor(() => logs.length === 1);
    expect(logs[0]).toMatchObject({ flags: '-', attempts: 1 });
  });

  it('retry circuit breaker (connectionPool.http.maxRetries) overflows: no retry, flag UO', async () => {
    const up = await upstream((_req, res) => {
      // Hold the first request so that its retry is still pending when the second fails.
      res.statusCode = 503;
      res.end();
    });
    const m = meshWith([{ name: 'backend', ports: [up.port] }], retries({ attempts: 1, retryOn: '5xx', backoff: '200ms' }));
    m.clusters[0]!.policy = {
      connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null },
      limits: { maxConnections: 2 ** 32 - 1, maxPendingRequests: 2 ** 32 - 1, maxRequests: 2 ** 32 - 1, maxRetries: 1, maxRequestsPerConnection: 0 },
      outlier: null,
      hash: null,
    };
    const { p, logs } = await proxy(m);
    const [a, b] = await Promise.all([request(p.port), request(p.port)]);
    expect([a.status, b.status]).toEqual([503, 503]);
    await waitFor(() => logs.length === 2);
    expect(logs.map((l) => l.flags).sort()).toEqual(['UO', 'URX']);
    expect(p.stats.cluster('backend').get('upstream_rq_retry_overflow')).toBe(1);
    expect(up.requests.length).toBe(3);
  });
});
