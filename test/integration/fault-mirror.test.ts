// Fault injection and mirroring over real sockets: abort and delay percentages with a fixed
// seed (±3 points), faults outside retries and the route timeout, mirror copies with the
// -shadow host, and mirrors that fail, hang or are skipped never touching the original.
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { closedPort } from '../helpers/ports.js';
import { request } from '../helpers/http-client.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import { proxy, upstream, meshWith, waitFor, readBody, useCleanup } from './traffic-helpers.js';

useCleanup();

/** Sends `n` GETs over `concurrency` keep-alive connections; returns the statuses. */
async function burst(port: number, n: number, concurrency = 16): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      statuses.push((await request(port, { agent })).status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return statuses;
}

const countFlag = (logs: AccessLogEntry[], flag: string) => logs.filter((l) => l.flags.split(',').includes(flag)).length;

describe('fault injection', () => {
  it('aborts 30 % of 2,000 requests (±3 points) with the status and flag FI; aborted requests reach no upstream and are not retried', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], {
      fault: { delay: null, abort: { httpStatus: 503, percentage: 30 } },
      retry: retryPolicyFromIstio({ attempts: 3, retryOn: '5xx' }),
    });
    const { p, logs } = await proxy(m, { seed: 7 });
    const statuses = await burst(p.port, 2000);
    const aborted = statuses.filter((s) => s === 503).length;
    expect(aborted / 2000).toBeGreaterThan(0.27);
    expect(aborted / 2000).toBeLessThan(0.33);
    expect(statuses.filter((s) => s === 200).length).toBe(2000 - aborted);
    expect(up.requests.length).toBe(2000 - aborted);
    await waitFor(() => logs.length === 2000);
    expect(countFlag(logs, 'FI')).toBe(aborted);
    expect(p.stats.downstream.get('fault.aborts_injected')).toBe(aborted);
    expect(p.stats.cluster('backend').get('upstream_rq_retry')).toBe(0);
    const r = await request(p.port);
    if (r.status === 503) expect(r.body.toString()).toBe('fault filter abort');
  }, 30_000);

  it('delays 25 % of 1,000 requests (±3 points), flag DI', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], { fault: { delay: { fixedDelayMs: 20, percentage: 25 }, abort: null } });
    const { p, logs } = await proxy(m, { seed: 11 });
    const statuses = await burst(p.port, 1000);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await waitFor(() => logs.length === 1000);
    const delayed = logs.filter((l) => l.flags === 'DI');
    expect(delayed.length / 1000).toBeGreaterThan(0.22);
    expect(delayed.length / 1000).toBeLessThan(0.28);
    // Logged durations are whole milliseconds, so a 20 ms delay shows as 19 at the least.
    expect(delayed.every((l) => l.durationMs >= 19)).toBe(true);
  }, 30_000);

  it('the delay is outside the route timeout, and an abort follows the delay', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const delayed = meshWith([{ name: 'backend', ports: [up.port] }], { timeoutMs: 100, fault: { delay: { fixedDelayMs: 300, percentage: 100 }, abort: null } });
    const { p, logs } = await proxy(delayed);
    const t0 = Date.now();
    const r = await request(p.port);
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await waitFor(() => logs.length === 1);
    expect(logs[0]!.flags).toBe('DI');

    const both = meshWith([{ name: 'backend', ports: [up.port] }], { fault: { delay: { fixedDelayMs: 100, percentage: 100 }, abort: { httpStatus: 418, percentage: 100 } } });
    const { p: p2, logs: logs2 } = await proxy(both);
    const t1 = Date.now();
    const r2 = await request(p2.port);
    expect(r2.status).toBe(418);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(95);
    await waitFor(() => logs2.length === 1);
    expect(logs2[0]!.flags).toBe('DI,FI');
    expect(up.requests.length).toBe(1);
  });

  it('a request body sent during the delay still reaches the upstream', async () => {
    const up = await upstream(async (req, res) => res.end('got:' + (await readBody(req))));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], { fault: { delay: { fixedDelayMs: 50, percentage: 100 }, abort: null } });
    const { p } = await proxy(m);
    const r = await request(p.port, { method: 'POST', body: 'during the delay' });
    expect(r.body.toString()).toBe('got:during the delay');
  });
});

describe('mirroring', () => {
  it('sends a copy with the -shadow host, same path and body; the mirror\'s answer is discarded', async () => {
    const main = await upstream(async (req, res) => res.end('main:' + (await readBody(req))));
    const bodies: string[] = [];
    const shadow = await upstream(async (req, res) => {
      bodies.push(await readBody(req));
      res.statusCode = 500;
      res.end('mirror answer');
    });
    const m = meshWith([{ name: 'backend', ports: [main.port] }, { name: 'mirror', ports: [shadow.port] }], { mirrors: [{ cluster: 'mirror', percentage: 100 }] });
    const { p } = await proxy(m);
    const r = await request(p.port, { method: 'POST', path: '/items?id=3', body: 'payload' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('main:payload');
    await waitFor(() => shadow.requests.length === 1);
    expect(shadow.requests[0]!.headers.host).toBe('svc.test-shadow');
    expect(shadow.requests[0]!.url).toBe('/items?id=3');
    await waitFor(() => bodies.length === 1);
    expect(bodies[0]).toBe('payload');
    expect(main.requests[0]!.headers.host).toBe('svc.test');
    await waitFor(() => p.stats.cluster('mirror').get('upstream_rq_500') === 1);
    expect(p.stats.cluster('mirror').get('upstream_rq_mirror')).toBe(1);
  });

  it('a failing or hanging mirror neither delays nor fails the original', async () => {
    const main = await upstream((_req, res) => res.end('main'));
    const dead = await closedPort();
    // The hanging mirror upstream answers only when the test lets it, after every original
    // has completed; with a mirror timeout far beyond the test's, an original that waited for
    // its mirror could not complete at all (no wall-clock bound needed).
    const held: Array<{ end(body: string): void }> = [];
    const hang = await upstream((_req, res) => { held.push(res); });
    const m = meshWith([{ name: 'backend', ports: [main.port] }, { name: 'dead', ports: [dead] }, { name: 'hang', ports: [hang.port] }], {
      mirrors: [{ cluster: 'dead', percentage: 100 }, { cluster: 'hang', percentage: 100 }],
    });
    const { p } = await proxy(m, { limits: { mirrorTimeoutMs: 120_000 } });
    for (let i = 0; i < 3; i++) {
      const r = await request(p.port);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('main');
    }
    await waitFor(() => p.stats.cluster('dead').get('upstream_rq_mirror_failed') === 3);
    await waitFor(() => hang.requests.length === 3);
    expect(p.stats.cluster('hang').get('upstream_rq_mirror_failed')).toBe(0);
    for (const res of held) res.end('late copy');
    expect(p.stats.cluster('backend').get('upstream_rq_200')).toBe(3);
  });

  it('a mirror that never answers is cut at mirrorTimeoutMs and counted as failed', async () => {
    const main = await upstream((_req, res) => res.end('main'));
    const hang = await upstream(() => {}); // never answers
    const m = meshWith([{ name: 'backend', ports: [main.port] }, { name: 'hang', ports: [hang.port] }], {
      mirrors: [{ cluster: 'hang', percentage: 100 }],
    });
    const { p } = await proxy(m, { limits: { mirrorTimeoutMs: 200 } });
    for (let i = 0; i < 3; i++) expect((await request(p.port)).status).toBe(200);
    await waitFor(() => hang.requests.length === 3);
    await waitFor(() => p.stats.cluster('hang').get('upstream_rq_mirror_failed') === 3, 5000);
    expect(p.stats.cluster('hang').get('upstream_rq_timeout')).toBe(3);
  });

  it('mirrors percentage % of 1,000 requests (±3 points)', async () => {
    const main = await upstream((_req, res) => res.end('main'));
    const shadow = await upstream((_req, res) => res.end('copy'));
    const m = meshWith([{ name: 'backend', ports: [main.port] }, { name: 'mirror', ports: [shadow.port] }], { mirrors: [{ cluster: 'mirror', percentage: 40 }] });
    const { p } = await proxy(m, { seed: 3 });
    await burst(p.port, 1000);
    const sent = p.stats.cluster('mirror').get('upstream_rq_mirror');
    expect(sent / 1000).toBeGreaterThan(0.37);
    expect(sent / 1000).toBeLessThan(0.43);
    await waitFor(() => shadow.requests.length === sent);
  }, 30_000);

  it('a body beyond the buffer is proxied but not mirrored (counted as skipped)', async () => {
    const main = await upstream(async (req, res) => res.end(String((await readBody(req)).length)));
    const shadow = await upstream((_req, res) => res.end());
    const m = meshWith([{ name: 'backend', ports: [main.port] }, { name: 'mirror', ports: [shadow.port] }], { mirrors: [{ cluster: 'mirror', percentage: 100 }] });
    const { p } = await proxy(m, { limits: { retryBufferBytes: 1024 } });
    const r = await request(p.port, { method: 'POST', body: 'z'.repeat(10_000) });
    expect(r.body.toString()).toBe('10000');
    expect(p.stats.cluster('mirror').get('upstream_rq_mirror_skipped')).toBe(1);
    expect(shadow.requests.length).toBe(0);
  });
});
