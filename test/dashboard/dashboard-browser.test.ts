// `wasmesh dashboard` in a real headless Chromium (Debian's, driven by playwright-core): two
// sidecars with mesh mTLS (productpage-v1 → reviews-v1) under load, a real Prometheus scraping
// them every second, the dashboard server reading Prometheus. The page must show both workloads
// and the edge between them with a non-zero rate and mTLS, a click on reviews-v1 must open its
// golden signals, and the page must log no console error. The screenshot goes to
// test-results/dashboard.png. WASMESH_REQUIRE_CHROMIUM=1 / WASMESH_REQUIRE_PROMETHEUS=1 turn a
// missing browser or Prometheus into a failure.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { prometheusApi } from '../../host/dashboard/prometheus-api.js';
import { startDashboardServer, type DashboardServer } from '../../host/dashboard/dashboard-server.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { autoMtlsMesh } from '../helpers/auto-mtls-mesh.js';
import { prometheusForTests, startPrometheus, type TestPrometheus } from '../helpers/prometheus-for-tests.js';
import { chromiumForTests } from '../helpers/chromium-for-tests.js';

const chromiumBin = chromiumForTests('dashboard in Chromium');
const promBin = prometheusForTests('dashboard in Chromium');
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const SCREENSHOT = join(process.cwd(), 'test-results', 'dashboard.png');

let ca: TestMeshCa;
let app: Server;
let client: SidecarRuntime;
let server: SidecarRuntime;
let prom: TestPrometheus;
let dashboard: DashboardServer;
let browser: Browser;
let loading = true;
let load: Promise<void> = Promise.resolve();
const dirs: string[] = [];

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-dash-'));
  dirs.push(dir);
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return dir;
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'app.example' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(chromiumBin === null || promBin === null)('wasmesh dashboard in headless Chromium', () => {
  beforeAll(async () => {
    ca = await testMeshCa();
    app = createServer((req, res) => {
      setTimeout(() => {
        res.statusCode = req.url === '/fail' ? 503 : 200;
        res.end('ok');
      }, 5);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;
    const cell = async (sa: string): Promise<WorkloadCertificateCell> => {
      const c = new WorkloadCertificateCell();
      c.set(await workloadCertificate(ca, 'default', sa));
      return c;
    };
    server = await startSidecarRuntime({
      sources: [dirWith({ 'empty.yaml': '# PERMISSIVE\n' })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
      accessLog: () => {}, log: () => {}, workloadCertificates: await cell('reviews'), stats: { at: LOOPBACK, required: true },
      workload: workloadMetadata({ name: 'reviews-v1', namespace: 'default', labels: { app: 'reviews', version: 'v1' } }),
    });
    client = await startSidecarRuntime({
      sources: [dirWith({ 'mesh.yaml': autoMtlsMesh(server.ports.inbound, 'reviews') })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [1],
      accessLog: () => {}, log: () => {}, workloadCertificates: await cell('productpage'), stats: { at: LOOPBACK, required: true },
      workload: workloadMetadata({ name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' } }),
    });
    prom = await startPrometheus(promBin!, [`127.0.0.1:${client.statsPort}`, `127.0.0.1:${server.statsPort}`]);
    dashboard = await startDashboardServer({ prometheus: prometheusApi(`http://127.0.0.1:${prom.port}`), host: '127.0.0.1', port: 0, window: '2m' });
    // The load: ~20 requests/s, one in ten failing, until the test ends.
    load = (async () => {
      for (let i = 0; loading; i++) {
        await get(client.ports.outbound, i % 10 === 9 ? '/fail' : '/');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // rate() needs two scrapes of each series inside its window.
    await get(client.ports.outbound, '/');
    await prom.scrapes(3);
    browser = await chromium.launch({ executablePath: chromiumBin!, headless: true });
  }, 90_000);

  afterAll(async () => {
    loading = false;
    await load.catch(() => {});
    await browser?.close();
    await dashboard?.close();
    await prom?.stop();
    await client?.close();
    await server?.close();
    if (app) await new Promise((r) => app.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  it('shows the services and the mTLS edge with a non-zero rate; a click on a service shows its signals; no console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    const offOrigin: string[] = [];
    page.on('request', (req) => { if (!req.url().startsWith(dashboard.url) && !req.url().startsWith('data:')) offOrigin.push(req.url()); });

    await page.goto(dashboard.url);
    // The server's --window is the page's.
    await expect.poll(() => page.locator('#window').inputValue()).toBe('2m');
    // The edge row with a non-zero rate (the graph polls every 5 s).
    // Reported by its destination: the edge is first drawn from the source reporter alone when
    // the caller's proxy was scraped first, and mTLS is known only to the destination's report.
    const row = page.locator('#edges tbody tr', { hasText: 'default/productpage-v1' });
    await row.first().waitFor({ timeout: 30_000 });
    await expect.poll(async () => (await row.first().locator('td').allTextContents())[9], { timeout: 30_000, interval: 1000 }).toBe('destination');
    const cells = await row.first().locator('td').allTextContents();
    expect(cells.slice(0, 2)).toEqual(['default/productpage-v1', 'default/reviews-v1']);
    expect(Number(cells[4]), `requests/s cell: ${cells.join(' | ')}`).toBeGreaterThan(0);
    expect(cells[8]).toBe('mTLS');
    expect(cells[9]).toBe('destination');

    // The graph itself (cytoscape's model): both workloads as nodes, the edge with its rate.
    const graph = await page.evaluate(() => {
      const cy = (window as unknown as { wasmeshDashboard: { cy: { nodes(): { map<T>(f: (n: { id(): string }) => T): T[] }; edges(): { map<T>(f: (e: { data(k: string): unknown }) => T): T[] } } } }).wasmeshDashboard.cy;
      return { nodes: cy.nodes().map((n) => n.id()).sort(), edges: cy.edges().map((e) => ({ source: e.data('source'), target: e.data('target'), rps: e.data('rps'), mtls: e.data('mtls'), label: e.data('label') })) };
    });
    expect(graph.nodes).toEqual(['default/productpage-v1', 'default/reviews-v1']);
    expect(graph.edges).toHaveLength(1);
    expect(graph.edges[0]).toMatchObject({ source: 'default/productpage-v1', target: 'default/reviews-v1', mtls: 'mutual_tls' });
    expect(graph.edges[0]!.rps).toBeGreaterThan(0);
    expect(graph.edges[0]!.label).toMatch(/^mTLS \d+(\.\d+)? rps · \d+(\.\d)?% · p99 \d+ms$/);

    // A real mouse click on the reviews-v1 node, where cytoscape drew it.
    const at = await page.evaluate(() => {
      const cy = (window as unknown as { wasmeshDashboard: { cy: { getElementById(id: string): { renderedPosition(): { x: number; y: number } } } } }).wasmeshDashboard.cy;
      return cy.getElementById('default/reviews-v1').renderedPosition();
    });
    const box = (await page.locator('#graph').boundingBox())!;
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.locator('#details').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#details-title').textContent()).toBe('reviews-v1.default');
    await expect.poll(() => page.locator('#details-summary').textContent(), { timeout: 15_000 }).toMatch(/^app reviews · version v1 · now \d+(\.\d+)? rps, \d+(\.\d)?% 5xx, p99 \d+ ms$/);
    const summary = (await page.locator('#details-summary').textContent())!;
    expect(Number(/now ([\d.]+) rps/.exec(summary)![1])).toBeGreaterThan(0);
    // Three uPlot charts, each drawn on a canvas.
    expect(await page.locator('#details .uplot canvas').count()).toBe(3);
    // …holding the load's points: a non-zero request rate and latency at the latest times.
    const plotted = await page.evaluate(() => {
      const charts = (window as unknown as { wasmeshDashboard: { state: { charts: Record<string, { data: Array<Array<number | null>> }> } } }).wasmeshDashboard.state.charts;
      const max = (id: string, i: number) => Math.max(0, ...charts[id]!.data[i]!.filter((v): v is number => v !== null));
      return { requests: max('chart-requests', 1), p99: max('chart-latency', 3) };
    });
    expect(plotted.requests).toBeGreaterThan(0);
    expect(plotted.p99).toBeGreaterThan(0);

    mkdirSync(join(process.cwd(), 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(consoleErrors).toEqual([]);
    expect(offOrigin).toEqual([]);
    await page.close();
  }, 90_000);
});
