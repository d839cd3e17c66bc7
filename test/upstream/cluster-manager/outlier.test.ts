// Outlier detection through the cluster manager over real loopback upstreams and a fake clock:
// consecutive 5xx eject, traffic avoids the ejected endpoint, it returns after baseEjectionTime
// at an interval tick, the next ejection lasts twice as long, maxEjectionPercent caps, panic
// below minHealthPercent uses every endpoint, ejection state survives a reload that keeps the
// endpoint, stats and /clusters show it. Plus seed 002's ratings DestinationRule values.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { startHttpUpstream, type HttpUpstream } from '../../helpers/upstream-servers.js';
import { harness, meshOf, req, histogram, attempt, CLUSTER, type Harness } from './cluster-harness.js';
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

/** Upstreams whose status the test sets per endpoint at any time. */
async function upstreams(n: number): Promise<{ ports: number[]; status: number[] }> {
  const status = Array.from({ length: n }, () => 200);
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const up = await startHttpUpstream((_q: http.IncomingMessage, res: http.ServerResponse) => {
      res.statusCode = status[i]!;
      res.end(`e${i}`);
    });
    servers.push(up);
    ports.push(up.port);
  }
  return { ports, status };
}

/** Sends requests until endpoint `i` has answered `n` times (round robin reaches it every few). */
async function hitEndpoint(h: Harness, v: ReturnType<Harness['load']>, i: number, n: number): Promise<void> {
  let seen = 0;
  for (let guard = 0; seen < n && guard < 200; guard++) {
    const a = await attempt(h, v);
    if (a.lease?.index === i) seen++;
  }
  expect(seen).toBe(n);
}

const stat = (h: Harness, name: string): number => h.stats.cluster(CLUSTER).get(name);

describe('outlier detection', () => {
  const od = (o: Parameters<typeof outlierSettingsFromIstio>[0]) => outlierSettingsFromIstio({ interval: '10s', baseEjectionTime: '30s', ...o })!;

  it('ejects after consecutive 5xx, traffic avoids it, it returns after baseEjectionTime; the second ejection lasts twice as long', async () => {
    const up = await upstreams(3);
    up.status[1] = 500;
    const h = make();
    const v = h.load(meshOf(up.ports, { outlier: od({ consecutive5xxErrors: 3, maxEjectionPercent: 50 }) }));
    await hitEndpoint(h, v, 1, 3);
    expect(h.cm.clusters()[0]!.endpoints[1]).toMatchObject({ healthy: false, healthFlags: '/failed_outlier_check', timesEjected: 1 });
    expect(stat(h, 'outlier_detection.ejections_active')).toBe(1);
    expect(stat(h, 'outlier_detection.ejections_enforced_total')).toBe(1);
    expect(stat(h, 'outlier_detection.ejections_detected_consecutive_5xx')).toBe(1);
    for (let i = 0; i < 30; i++) expect((await attempt(h, v)).lease!.index).not.toBe(1);

    // Not yet: 29.999 s later.
    h.clock.t += 29_999;
    expect(h.cm.tick()).toBe(0);
    expect(histogram(h, v, 30).get(1)).toBeUndefined();
    h.clock.t += 1;
    expect(h.cm.tick()).toBe(1);
    expect(h.cm.clusters()[0]!.endpoints[1]!.healthFlags).toBe('healthy');
    expect(stat(h, 'outlier_detection.ejections_active')).toBe(0);

    // Second ejection: 2 × 30 s.
    await hitEndpoint(h, v, 1, 3);
    expect(h.cm.clusters()[0]!.endpoints[1]!.timesEjected).toBe(2);
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(0);
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(1);
  });

  it('a success between errors resets the count', async () => {
    const up = await upstreams(2);
    const h = make();
    const v = h.load(meshOf(up.ports, { outlier: od({ consecutive5xxErrors: 3, maxEjectionPercent: 100 }) }));
    up.status[0] = 503;
    await hitEndpoint(h, v, 0, 2);
    up.status[0] = 200;
    await hitEndpoint(h, v, 0, 1);
    up.status[0] = 503;
    await hitEndpoint(h, v, 0, 2);
    expect(h.cm.clusters()[0]!.endpoints[0]).toMatchObject({ healthy: true, consecutive5xx: 2 });
    await hitEndpoint(h, v, 0, 1);
    expect(h.cm.clusters()[0]!.endpoints[0]!.healthy).toBe(false);
  });

  it('connect failures count as 5xx (not split from external errors, as Istio configures)', async () => {
    const up = await upstreams(1);
    const h = make();
    // Port 1: nothing listens, connections are refused.
    const v = h.load(meshOf([up.ports[0]!, 1], { outlier: od({ consecutive5xxErrors: 3, maxEjectionPercent: 100 }) }));
    const results = [];
    for (let i = 0; i < 6; i++) results.push((await attempt(h, v)).result);
    expect(results.filter((r) => r === 'connect_fail')).toHaveLength(3);
    expect(h.cm.clusters()[0]!.endpoints[1]!.healthy).toBe(false);
    for (let i = 0; i < 5; i++) expect((await attempt(h, v)).result).toBe(200);
  });

  it('maxEjectionPercent caps ejections; panic below minHealthPercent balances over every endpoint', async () => {
    const up = await upstreams(4);
    up.status = up.status.fill(500);
    const h = make();
    const v = h.load(meshOf(up.ports, { outlier: od({ consecutive5xxErrors: 2, maxEjectionPercent: 50 }) }));
    for (let i = 0; i < 40; i++) await attempt(h, v);
    // 50 % of 4: two ejected, the others overflow.
    expect(h.cm.clusters()[0]!.ejectionsActive).toBe(2);
    expect(stat(h, 'outlier_detection.ejections_overflow')).toBeGreaterThan(0);

    const p = make();
    const pv = p.load(meshOf(up.ports, { outlier: od({ consecutive5xxErrors: 2, maxEjectionPercent: 100, minHealthPercent: 60 }) }));
    // Eject endpoints until fewer than 60 % are healthy (2 of 4 ejected → 50 %: panic).
    let guard = 0;
    while (p.cm.clusters()[0]!.ejectionsActive < 2 && guard++ < 50) await attempt(p, pv);
    const status = p.cm.clusters()[0]!;
    expect(status.panic).toBe(true);
    const counts = histogram(p, pv, 400);
    expect(counts.size).toBe(4); // ejected endpoints get traffic again
    expect(p.stats.cluster(CLUSTER).get('lb_healthy_panic')).toBeGreaterThanOrEqual(400);
  });

  it('ejection state survives a reload that keeps the endpoint (reordered, one added); a removed endpoint releases it', async () => {
    const up = await upstreams(3);
    up.status[0] = 500;
    const h = make();
    const settings = od({ consecutive5xxErrors: 2, maxEjectionPercent: 100 });
    const v1 = h.load(meshOf(up.ports.slice(0, 2), { outlier: settings }));
    await hitEndpoint(h, v1, 0, 2);
    expect(h.cm.clusters()[0]!.endpoints[0]!.healthy).toBe(false);
    // v2: the ejected endpoint moves to index 1, a third joins.
    const v2 = h.load(meshOf([up.ports[1]!, up.ports[0]!, up.ports[2]!], { outlier: settings }));
    const c = h.cm.clusters()[0]!;
    expect(c.endpoints.map((e) => [e.port, e.healthy])).toEqual([[up.ports[1], true], [up.ports[0], false], [up.ports[2], true]]);
    expect(histogram(h, v2, 30).get(1)).toBeUndefined();
    // It still returns on time.
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(1);
    expect(histogram(h, v2, 30).get(1)).toBe(10);
    // Ejected again, then removed by v3: the ejection goes with it.
    await hitEndpoint(h, v2, 1, 2);
    expect(h.cm.clusters()[0]!.ejectionsActive).toBe(1);
    h.load(meshOf([up.ports[1]!, up.ports[2]!], { outlier: settings }));
    expect(h.cm.clusters()[0]!.ejectionsActive).toBe(0);
  });

  it('detection turned off by a reload brings every endpoint back', async () => {
    const up = await upstreams(2);
    up.status[0] = 500;
    const h = make();
    const v = h.load(meshOf(up.ports, { outlier: od({ consecutive5xxErrors: 2, maxEjectionPercent: 100 }) }));
    await hitEndpoint(h, v, 0, 2);
    expect(h.cm.clusters()[0]!.endpoints[0]!.healthy).toBe(false);
    const v2 = h.load(meshOf(up.ports, { outlier: null }));
    expect(h.cm.clusters()[0]!.endpoints[0]!.healthy).toBe(true);
    expect(histogram(h, v2, 20).get(0)).toBe(10);
  });

  it('a real interval timer ticks (unref’d) and is cleared on close', async () => {
    const up = await upstreams(2);
    up.status[0] = 500;
    const { Core } = await import('../../../host/core/wasm.js');
    const { ClusterManager } = await import('../../../host/upstream/cluster-manager.js');
    const { CoreHttp1Codec } = await import('../../../host/upstream/conn-pool/http1/core-http1-codec.js');
    const { RouteTable } = await import('../../../host/core/route/route-table.js');
    const { compileRouteTable } = await import('../../../host/compile/route-table.js');
    const { resolveLimits } = await import('../../../host/common/limits.js');
    const { Stats } = await import('../../../host/telemetry/stats.js');
    const core = new Core();
    const stats = new Stats();
    const cm = new ClusterManager(core, stats, resolveLimits(), new CoreHttp1Codec(core));
    const mesh = meshOf(up.ports, { outlier: outlierSettingsFromIstio({ consecutive5xxErrors: 1, interval: '50ms', baseEjectionTime: '100ms', maxEjectionPercent: 100 }) });
    const table = RouteTable.load(core, compileRouteTable(mesh), 1);
    cm.apply(mesh, table);
    const h = { cm, stats } as unknown as Harness;
    await hitEndpoint(h, { table }, 0, 1);
    expect(cm.clusters()[0]!.endpoints[0]!.healthy).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect(cm.clusters()[0]!.endpoints[0]!.healthy).toBe(true);
    cm.close();
    expect(cm.clusters()).toEqual([]);
  });
});

describe('seed 002: ratings DestinationRule outlierDetection', () => {
  it('consecutiveErrors: 5 (deprecated, so Envoy’s default 5 consecutive 5xx), interval 30s, baseEjectionTime 1m, maxEjectionPercent 50', async () => {
    // The seed's values as Istio's YAML gives them (test/config/fixtures/seed-002).
    const settings = outlierSettingsFromIstio({ consecutiveErrors: 5, interval: '30s', baseEjectionTime: '1m', maxEjectionPercent: 50 })!;
    expect(settings).toMatchObject({ consecutive5xx: 5, intervalMs: 30_000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 });
    const up = await upstreams(2); // ratings v1 pods
    up.status[1] = 503;
    const h = make();
    const v = h.load(meshOf(up.ports, { outlier: settings }));
    await hitEndpoint(h, v, 1, 4);
    expect(h.cm.clusters()[0]!.endpoints[1]!.healthy).toBe(true);
    await hitEndpoint(h, v, 1, 1);
    expect(h.cm.clusters()[0]!.endpoints[1]!.healthy).toBe(false);
    for (let i = 0; i < 10; i++) expect((await attempt(h, v)).result).toBe(200);
    // Interval ticks every 30 s: at 30 s still out, at 60 s back.
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(0);
    h.clock.t += 30_000;
    expect(h.cm.tick()).toBe(1);
    up.status[1] = 200;
    const after = await Promise.all(Array.from({ length: 4 }, () => attempt(h, v)));
    expect(new Set(after.map((a) => a.lease!.index))).toEqual(new Set([0, 1]));
  });
});
