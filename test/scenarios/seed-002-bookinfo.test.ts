// Seed 002 (bookinfo rules) over real sockets: the ingress gateway serves the seed's
// `/productpage` rule; productpage and reviews v2/v3 call out through their own sidecars (the
// proxy in mesh mode, routing by Host); the seed's VirtualServices and DestinationRules, from
// examples/002-bookinfo-rules unchanged, decide: jason on Chrome → reviews v2 with a 2 s
// timeout, everyone else → v1 mirrored to v3, productpage retried on gateway errors and
// connect failures, productpage's connection pool (http2MaxRequests: 5) answering 503 UO, and
// ratings' outlier detection ejecting an endpoint after 5 consecutive 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario, type RunningScenario, type ScenarioApp } from '../../host/demo/scenario-mesh.js';
import { BOOKINFO } from '../../host/demo/bookinfo-scenario.js';
import { ratingsApp } from '../../host/demo/apps/bookinfo-apps.js';
import type { ServiceApp } from '../../host/demo/apps/service-app.js';
import { closeClient, clusters, get, many, stats, statSum } from '../helpers/scenario-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';

interface Page {
  service: string;
  version: string;
  details: { status: number; body: { service: string; version: string } };
  reviews: { status: number; body: { version: string; stars?: string; ratings?: { status: number } } | string; ms: number };
}

function start(extra: { files?: Record<string, string>; apps?: ScenarioApp[] } = {}, log?: string[]): Promise<RunningScenario> {
  return startScenario(BOOKINFO, {
    root: ROOT,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    freeAppPorts: true,
    extraFiles: extra.files,
    extraApps: extra.apps,
    accessLog: (proxy, line) => log?.push(`${proxy}: ${line}`),
  });
}

describe('seed 002 (bookinfo rules)', () => {
  let mesh: RunningScenario;
  const log: string[] = [];
  const app = (workload: string): ServiceApp => mesh.apps.get(workload)!;
  const page = async (headers: Record<string, string> = {}): Promise<Page> => {
    const r = await get(`${mesh.gateway.url}/productpage`, headers);
    expect(r.status).toBe(200);
    return JSON.parse(r.body) as Page;
  };

  beforeAll(async () => {
    mesh = await start({}, log);
  });
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('jason on Chrome gets reviews v2; everyone else v1, each request mirrored to v3 with a -shadow host', async () => {
    const jason = await page({ 'end-user': 'jason', 'user-agent': CHROME });
    expect([jason.service, jason.details.body.version]).toEqual(['productpage', 'v1']);
    expect(jason.reviews.status).toBe(200);
    expect(jason.reviews.body).toMatchObject({ version: 'v2', stars: 'black', ratings: { status: 200 } });

    app('reviews-v3').clearSeen();
    const others = [
      await page({ 'end-user': 'jason', 'user-agent': FIREFOX }),
      await page({ 'end-user': 'alice', 'user-agent': CHROME }),
      await page({ 'user-agent': CHROME }),
      await page(),
    ];
    expect(others.map((p) => (p.reviews.body as { version: string }).version)).toEqual(['v1', 'v1', 'v1', 'v1']);
    // Mirrors are fire-and-forget: wait for the copies to land.
    for (let i = 0; i < 50 && app('reviews-v3').count < 4; i++) await new Promise((r) => setTimeout(r, 20));
    const copies = app('reviews-v3').seen;
    expect(copies.map((s) => s.host)).toEqual(['reviews-shadow:9080', 'reviews-shadow:9080', 'reviews-shadow:9080', 'reviews-shadow:9080']);
    expect(copies.map((s) => s.headers['end-user'] ?? '-')).toEqual(['jason', 'alice', '-', '-']);
    // v2 saw only jason on Chrome; v1 never saw it.
    expect(app('reviews-v2').seen.map((s) => s.headers['end-user'])).toEqual(['jason']);
    expect(app('reviews-v1').seen.some((s) => s.headers['user-agent'] === CHROME && s.headers['end-user'] === 'jason')).toBe(false);
  });

  it('a slow reviews v2 is cut at the 2 s timeout: 504 (UT) and productpage still answers', async () => {
    app('reviews-v2').delayMs = 3000;
    try {
      const started = Date.now();
      const p = await page({ 'end-user': 'jason', 'user-agent': CHROME });
      const took = Date.now() - started;
      expect(p.reviews.status).toBe(504);
      expect(p.reviews.body).toMatch(/upstream request timeout/);
      expect(p.reviews.ms).toBeGreaterThanOrEqual(1950);
      expect(took).toBeLessThan(2900);
      expect(log.some((l) => l.startsWith('sidecar of productpage-v1:') && / 504 UT /.test(l) && l.includes('"reviews:9080"'))).toBe(true);
    } finally {
      app('reviews-v2').delayMs = 0;
    }
  });

  it('productpage is retried on a gateway error (503) but not on a 500', async () => {
    // Any sidecar of the mesh serves every mesh host: productpage's own stands in for a caller.
    const sidecar = mesh.sidecars.get('productpage-v1')!;
    const pp = app('productpage-v1');
    pp.clearSeen();
    pp.failNext(1, 503);
    const retried = await get(`${sidecar.url}/productpage`, { host: 'productpage:9080' });
    expect(retried.status).toBe(200);
    expect(pp.seen.map((s) => [s.status, s.headers['x-envoy-attempt-count']])).toEqual([[503, '1'], [200, '2']]);

    pp.clearSeen();
    pp.failNext(1, 500);
    const notRetried = await get(`${sidecar.url}/productpage`, { host: 'productpage:9080' });
    expect(notRetried.status).toBe(500);
    expect(pp.seen.map((s) => s.status)).toEqual([500]);
  });

  it('productpage is retried on a connect failure: 2 retries (attempts: 2), then 503 UF,URX', async () => {
    const sidecar = mesh.sidecars.get('productpage-v1')!;
    const pp = app('productpage-v1');
    const before = await stats(sidecar.adminUrl);
    await pp.close();
    try {
      const r = await get(`${sidecar.url}/productpage`, { host: 'productpage:9080' });
      expect(r.status).toBe(503);
      const after = await stats(sidecar.adminUrl);
      const delta = (name: string) => statSum(after, '|v1|productpage', name) - statSum(before, '|v1|productpage', name);
      expect([delta('upstream_rq_retry'), delta('upstream_rq_retry_limit_exceeded')]).toEqual([2, 1]);
      expect(log.some((l) => l.startsWith('sidecar of productpage-v1:') && / 503 UF,URX /.test(l))).toBe(true);
    } finally {
      await pp.listen();
    }
    expect((await get(`${sidecar.url}/productpage`, { host: 'productpage:9080' })).status).toBe(200);
  });

  it("productpage's connection pool (http2MaxRequests: 5) answers 503 UO beyond 5 requests in flight", async () => {
    const pp = app('productpage-v1');
    pp.delayMs = 400;
    try {
      const results = await many(8, 8, () => get(`${mesh.gateway.url}/productpage`));
      const codes = results.map((r) => r.status).sort();
      expect(codes).toEqual([200, 200, 200, 200, 200, 503, 503, 503]);
      const overflow = results.filter((r) => r.status === 503);
      expect(overflow.every((r) => r.headers['x-envoy-overloaded'] === 'true' || r.body.includes('overflow'))).toBe(true);
      expect(log.filter((l) => l.startsWith('gateway:') && / 503 UO /.test(l))).toHaveLength(3);
      const s = await stats(mesh.gateway.adminUrl);
      expect(statSum(s, 'productpage', 'upstream_rq_pending_overflow')).toBe(3);
    } finally {
      pp.delayMs = 0;
    }
  });
});

describe('seed 002 (bookinfo rules): ratings outlier detection', () => {
  // The seed's ratings rule ejects for baseEjectionTime 1m, checked every interval 30s: too
  // long for a test, and ProxyServer does not take ClusterManager's fake clock. So this run
  // adds a copy of the seed's rule with only those two durations shortened (a later definition
  // replaces the seed's, as with kubectl apply; the file name sorts after the seed's files, so
  // it loads later), and a second ratings v1 instance that fails,
  // so that the subset keeps a healthy endpoint to move traffic to (maxEjectionPercent: 50).
  const seedRule = readFileSync(join(ROOT, 'examples/002-bookinfo-rules/destination-rule-all.yaml'), 'utf8');
  const ratingsRule = seedRule.split(/^---$/m).find((d) => /name: ratings/.test(d))!;
  const shortRule = ratingsRule.replace('interval: 30s', 'interval: 200ms').replace('baseEjectionTime: 1m', 'baseEjectionTime: 1s');
  const secondInstance = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: ratings-v1-b
spec:
  address: 127.0.0.1
  labels:
    app: ratings
    version: v1
  ports:
    http: 15223
`;
  let mesh: RunningScenario;
  beforeAll(async () => {
    expect(shortRule).not.toBe(ratingsRule);
    expect(shortRule).toMatch(/consecutiveErrors: 5[\s\S]*maxEjectionPercent: 50/);
    mesh = await start({
      files: { 'z-ratings-short-ejection.yaml': shortRule, 'z-ratings-second-instance.yaml': secondInstance },
      apps: [{ workload: 'ratings-v1-b', port: 15223, sidecar: false, labels: { app: 'ratings', version: 'v1' }, make: (port) => ratingsApp({ version: 'v1', port }) }],
    });
  });
  afterAll(async () => {
    closeClient();
    await mesh?.close();
  });

  it('ejects the failing endpoint after 5 consecutive 5xx and takes it back after baseEjectionTime', async () => {
    const bad = mesh.apps.get('ratings-v1-b')!;
    const good = mesh.apps.get('ratings-v1')!;
    bad.failStatus = 503;
    // As reviews v2 calls ratings, through its sidecar.
    const sidecar = mesh.sidecars.get('reviews-v2')!;
    const call = () => get(`${sidecar.url}/ratings/0`, { host: 'ratings:9080' });
    const first = await many(40, 1, call);
    // Exactly five 503s reached the client: the fifth ejected the endpoint, the rest went to the good one.
    expect(bad.count).toBe(5);
    expect(first.filter((r) => r.status === 503)).toHaveLength(5);
    expect(good.count).toBe(35);
    const ejected = (await clusters(sidecar.adminUrl)).find((c) => c.name.includes('|v1|ratings'))!;
    const byPort = new Map(ejected.endpoints.map((e) => [e.port, e]));
    expect(byPort.get(bad.port)).toMatchObject({ healthy: false, timesEjected: 1 });
    expect(byPort.get(good.port)!.healthy).toBe(true);
    expect(ejected.ejectionsActive).toBe(1);

    bad.failStatus = 0;
    await new Promise((r) => setTimeout(r, 1400)); // baseEjectionTime 1s × 1 ejection, returned at the next 200 ms tick
    const back = (await clusters(sidecar.adminUrl)).find((c) => c.name.includes('|v1|ratings'))!;
    expect(back.endpoints.every((e) => e.healthy)).toBe(true);
    const later = await many(30, 1, call);
    expect(later.every((r) => r.status === 200)).toBe(true);
    expect(bad.count).toBeGreaterThan(5);
  });
});
