// `wasmesh dashboard` over the istio101 demo (seed 003 with STRICT mTLS, as `wasmesh demo istio101
// --mtls` runs it: gateway → frontend → middleware prod/canary → backend, every proxy programmed
// by the control plane) in headless Chromium, with a real Prometheus scraping every proxy's admin
// port and the dashboard reading the control plane's monitoring port: the whole chain appears as
// mTLS edges with non-zero rates, every proxy is SYNCED, and a click on middleware-prod lists the
// VirtualService, DestinationRule and mesh-wide PeerAuthentication that apply to it. No console
// error; the screenshot goes to test-results/dashboard-istio101.png.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startScenario, type RunningScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { prometheusApi } from '../../host/dashboard/prometheus-api.js';
import { startDashboardServer, type DashboardServer } from '../../host/dashboard/dashboard-server.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { prometheusForTests, startPrometheus, type TestPrometheus } from '../helpers/prometheus-for-tests.js';
import { chromiumForTests } from '../helpers/chromium-for-tests.js';

const chromiumBin = chromiumForTests('dashboard over the istio101 demo');
const promBin = prometheusForTests('dashboard over the istio101 demo');
const ROOT = join(import.meta.dirname, '..', '..');

let mesh: RunningScenario;
let prom: TestPrometheus;
let dashboard: DashboardServer;
let browser: Browser;
let loading = true;
let load: Promise<void> = Promise.resolve();

type Cy = { wasmeshDashboard: { cy: { getElementById(id: string): { renderedPosition(): { x: number; y: number } } } } };

describe.skipIf(chromiumBin === null || promBin === null)('wasmesh dashboard over the istio101 demo in headless Chromium', () => {
  beforeAll(async () => {
    mesh = await startScenario(ISTIO101, {
      root: ROOT, listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, freeAppPorts: true, strictMtls: true, seed: 14, log: () => {},
    });
    const admins = [mesh.gateway, ...mesh.sidecars.values()].map((p) => p.admin);
    prom = await startPrometheus(promBin!, admins);
    dashboard = await startDashboardServer({
      prometheus: prometheusApi(`http://127.0.0.1:${prom.port}`), controlPlane: mesh.controlPlane.monitoringUrl, host: '127.0.0.1', port: 0,
    });
    // The load: the chain, a fifth of it as the canary's testers, with the seed's `fail` header.
    load = (async () => {
      for (let i = 0; loading; i++) {
        await get(`${mesh.gateway.url}/`, i % 5 === 0 ? { 'x-dev-user': 'super-secret', fail: '0.1' } : { fail: '0.1' }).catch(() => {});
        await new Promise((r) => setTimeout(r, 60));
      }
    })();
    await prom.scrapes(3);
    browser = await chromium.launch({ executablePath: chromiumBin!, headless: true });
  }, 120_000);

  afterAll(async () => {
    loading = false;
    await load.catch(() => {});
    await browser?.close();
    await dashboard?.close();
    await prom?.stop();
    closeClient();
    await mesh?.close();
  });

  it('draws the chain with mTLS, every proxy SYNCED, and the config that applies to middleware-prod', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const consoleErrors: string[] = [];
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    await page.goto(dashboard.url);

    const expected = [
      ['default/frontend-prod', 'default/middleware-canary'],
      ['default/frontend-prod', 'default/middleware-prod'],
      ['default/istio-ingressgateway', 'default/frontend-prod'],
      ['default/middleware-canary', 'default/backend-prod'],
      ['default/middleware-prod', 'default/backend-prod'],
    ];
    const rows = async () => (await page.locator('#edges tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''))));
    // Every edge appears once Prometheus has two scrapes of it inside the window (the canary's
    // too), reported by its destination: an edge is first drawn from the source reporter alone
    // when the caller's proxy was scraped first, and mTLS is known only to the destination's.
    await expect.poll(async () => (await rows()).map((r) => [r[0], r[1], r[9]]), { timeout: 45_000, interval: 1000 })
      .toEqual(expected.map((e) => [...e, 'destination']));
    for (const r of await rows()) {
      expect(Number(r[4]), r.join(' | ')).toBeGreaterThan(0);
      expect(r[8], r.join(' | ')).toBe('mTLS');
      expect(r[9]).toBe('destination');
    }

    // Every proxy connected to the control plane, SYNCED.
    await expect.poll(async () => page.locator('#proxies tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent)), { timeout: 15_000 })
      .toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    const proxies = await page.locator('#proxies tbody tr td:first-child').allTextContents();
    expect(proxies).toContain('sidecar~127.0.0.1~middleware-prod.default~default.svc.cluster.local');

    const at = await page.evaluate(() => (window as unknown as Cy).wasmeshDashboard.cy.getElementById('default/middleware-prod').renderedPosition());
    const box = (await page.locator('#graph').boundingBox())!;
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.locator('#details').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#details-title').textContent()).toBe('middleware-prod.default');
    await expect.poll(() => page.locator('#config li').allTextContents(), { timeout: 15_000 }).toEqual(expect.arrayContaining([
      'DestinationRule default/middleware — traffic policy for middleware.default.svc.cluster.local',
      'PeerAuthentication istio-system/default — mesh-wide (root namespace, no selector)',
      'VirtualService default/middleware — routes middleware.default.svc.cluster.local',
    ]));
    await expect.poll(() => page.locator('#details-summary').textContent(), { timeout: 15_000 }).toMatch(/^app middleware · version prod · now \d+(\.\d+)? rps/);

    mkdirSync(join(process.cwd(), 'test-results'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'test-results', 'dashboard-istio101.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 120_000);
});
