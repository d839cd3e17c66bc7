// Istio's agent port (15020): the proxy's metrics then the app's, scraped from it on loopback; an
// app that fails leaves its part out and is counted, the proxy's part is always there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MergedStatsPort } from '../../host/admin/merged-stats-port.js';
import { StatsPort } from '../../host/admin/stats-port.js';
import { parseSamples, sumOf } from '../helpers/prometheus-samples.js';
import { IstioMetrics, SecurityPolicy } from '../../host/telemetry/istio-metrics.js';
import { GRPC_NOT, UNKNOWN_WORKLOAD, serviceOfHost } from '../../host/telemetry/istio-labels.js';

let app: Server;
let appPort: number;
let appStatus = 200;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  app = createServer((req, res) => {
    if (req.url !== '/custom') return void res.writeHead(404).end();
    res.writeHead(appStatus, { 'content-type': 'text/plain' }).end('# TYPE app_orders_total counter\napp_orders_total{kind="book"} 7');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const c of closers) await c();
  await new Promise((r) => app.close(r));
});

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

const own = '# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 3\n';

describe('the merged metrics port', () => {
  it('answers the proxy\'s metrics, the agent\'s counters and the app\'s, in one valid text', async () => {
    const port = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => own, app: { port: appPort, path: '/custom' } });
    await port.listen();
    closers.push(() => port.close());
    const r = await get(port.port, '/stats/prometheus');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain; version=0.0.4');
    const s = parseSamples(r.body);
    expect(sumOf(s, 'envoy_cluster_upstream_rq_total')).toBe(3);
    expect(sumOf(s, 'app_orders_total', { kind: 'book' })).toBe(7);
    expect(sumOf(s, 'istio_agent_scrape_failures_total')).toBe(0);
    expect((await get(port.port, '/config_dump')).status).toBe(404);
    expect((await get(port.port, '/stats/prometheus', 'POST')).status).toBe(405);
  });

  it('an app that fails is left out and counted; the proxy\'s part stays', async () => {
    const port = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => own, app: { port: appPort, path: '/custom' }, appTimeoutMs: 500 });
    await port.listen();
    closers.push(() => port.close());
    appStatus = 500;
    const s = parseSamples((await get(port.port, '/stats/prometheus')).body);
    appStatus = 200;
    expect(sumOf(s, 'envoy_cluster_upstream_rq_total')).toBe(3);
    expect(s.filter((x) => x.name === 'app_orders_total')).toEqual([]);
    expect(sumOf(s, 'istio_agent_scrape_failures_total')).toBe(1);
  });
});

describe('the 15090 stats port', () => {
  it('serves Envoy\'s stats and istio_* on GET /stats/prometheus only, and a taken address fails to bind (no port sharing)', async () => {
    const m = new IstioMetrics('destination', UNKNOWN_WORKLOAD, () => 'unknown');
    m.record(UNKNOWN_WORKLOAD, 'unknown', serviceOfHost('a'), 200, GRPC_NOT, '-', SecurityPolicy.None, 1, 1, 1);
    const port = new StatsPort('127.0.0.1', 0, { stats: () => [], istio: () => m.snapshot() });
    await port.listen();
    closers.push(() => port.close());
    const r = await get(port.port, '/stats/prometheus');
    expect(sumOf(parseSamples(r.body), 'istio_requests_total')).toBe(1);
    expect((await get(port.port, '/')).status).toBe(404);
    const second = new StatsPort('127.0.0.1', port.port, { stats: () => [] });
    await expect(second.listen()).rejects.toThrow(/EADDRINUSE|in use/);
  });
});

/** A local address that is not loopback (the pod's own IP stands for another pod's), or null. */
function nonLoopbackAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

describe('POST /quitquitquit on the agent port (pilot-agent\'s, for the app)', () => {
  it('from loopback: 200 OK, then the quit callback; GET is 405; absent callback: 404 as before', async () => {
    let quits = 0;
    const port = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => own, quit: () => quits++ });
    await port.listen();
    closers.push(() => port.close());
    expect(await get(port.port, '/quitquitquit')).toMatchObject({ status: 405, body: '/quitquitquit answers POST only\n' });
    expect(quits).toBe(0);
    expect(await get(port.port, '/quitquitquit', 'POST')).toMatchObject({ status: 200, body: 'OK\n' });
    await new Promise((r) => setTimeout(r, 20));
    expect(quits).toBe(1);
    const without = new MergedStatsPort({ host: '127.0.0.1', port: 0, proxyText: () => own });
    await without.listen();
    closers.push(() => without.close());
    expect((await get(without.port, '/quitquitquit', 'POST')).status).toBe(404);
  });

  it('from another address (the port is open to the pod network for scraping): 403, and no quit', async () => {
    const addr = nonLoopbackAddress();
    if (addr === null && process.env.WASMESH_REQUIRE_NETNS === '1') throw new Error('no non-loopback IPv4 address to test from');
    if (addr === null) return;
    let quits = 0;
    const port = new MergedStatsPort({ host: '0.0.0.0', port: 0, proxyText: () => own, quit: () => quits++ });
    await port.listen();
    closers.push(() => port.close());
    const r = await fetch(`http://${addr}:${port.port}/quitquitquit`, { method: 'POST' });
    expect(r.status).toBe(403);
    expect(await r.text()).toBe(`/quitquitquit: only requests from localhost are allowed (this one came from ${addr})\n`);
    expect(quits).toBe(0);
  });
});
