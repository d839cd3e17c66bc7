// Stock Envoy programmed by the control plane alone (a bootstrap with nothing but ADS), both
// protocol variants: the seed 000 gateway's 80/20 split arrives over LDS/RDS/CDS/EDS and is
// served; a YAML edit to 5/95 reaches Envoy and is served; an invalid edit reaches nothing and
// the last good config keeps serving; the proxy shows SYNCED on every type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { adsBootstrap } from '../../host/envoy/xds-resources.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { syncState } from '../../host/xds/sync-status.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { WEB_SUBSETS, webGateway, webServices, webSplit } from '../helpers/seed-000-yaml.js';
import { freePort } from '../helpers/ports.js';

const envoy = envoyForTests('control plane + Envoy');

function files(dir: string, ports: { v1: number; v2: number }, gatewayPort: number, weights: [number, number] | 'broken'): void {
  writeFileSync(join(dir, 'services.yaml'), `${webServices(ports)}---\n${WEB_SUBSETS}---\n${webGateway({ port: gatewayPort, bind: '127.0.0.1' })}`);
  // 'broken': a negative weight, refused by validation.
  writeFileSync(join(dir, 'split.yaml'), weights === 'broken' ? webSplit([5, 95]).replace('weight: 95', 'weight: -95') : webSplit(weights));
}

async function split(port: number, n: number): Promise<{ v1: number; v2: number; failed: number }> {
  const out = { v1: 0, v2: 0, failed: 0 };
  for (let i = 0; i < n; i++) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      if (text === 'Version: v0.1') out.v1++;
      else if (text === 'Version: v0.2') out.v2++;
      else out.failed++;
    } catch {
      out.failed++;
    }
  }
  return out;
}

for (const delta of [false, true]) {
  describe.skipIf(envoy === null)(`stock Envoy over ADS (${delta ? 'delta' : 'state of the world'})`, () => {
    let dir = '';
    let up: Upstreams;
    let cp: ControlPlane;
    let child: ChildProcess;
    let gatewayPort = 0;
    const id = nodeId('router', '127.0.0.1', `gw-${delta ? 'delta' : 'sotw'}`, 'default');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-envoy-'));
      up = await startUpstreams();
      gatewayPort = await freePort();
      files(dir, up.ports, gatewayPort, [80, 20]);
      cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 50, maxDelayMs: 500 } });
      cp.start();
      const xdsPort = await cp.listen('127.0.0.1', 0);
      const admin = await freePort();
      const bootstrap = adsBootstrap({ xds: { host: '127.0.0.1', port: xdsPort }, admin: { host: '127.0.0.1', port: admin }, nodeId: id, metadata: { NAMESPACE: 'default', LABELS: { istio: 'ingressgateway' } }, delta });
      const file = join(dir, 'bootstrap.json');
      writeFileSync(file, JSON.stringify(bootstrap));
      child = spawn(envoy!, ['-c', file, '--disable-hot-restart', '-l', 'warning', '--base-id', String(Math.floor(Math.random() * 100000))], { stdio: ['ignore', 'ignore', 'pipe'] });
      // Ready once the listener serves.
      for (let i = 0; i < 100; i++) {
        const r = await split(gatewayPort, 1);
        if (r.failed === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
    });

    afterAll(async () => {
      child?.kill('SIGTERM');
      await cp?.close();
      await up?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves the 80/20 split it was given over xDS; every type SYNCED', async () => {
      const r = await split(gatewayPort, 200);
      expect(r.failed).toBe(0);
      expect(Math.abs(r.v1 - 160)).toBeLessThanOrEqual(20);
      const proxy = cp.ads.proxies().find((p) => p.proxyId === id)!;
      expect(proxy.kind).toBe('envoy');
      expect([...proxy.types.values()].map(syncState)).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
    });

    it('a YAML edit to 5/95 reaches Envoy; an invalid edit reaches nothing', async () => {
      files(dir, up.ports, gatewayPort, [5, 95]);
      cp.requestReload();
      await expect.poll(async () => (await split(gatewayPort, 40)).v2 >= 34, { timeout: 10_000, interval: 200 }).toBe(true);
      const version = cp.version;
      files(dir, up.ports, gatewayPort, 'broken');
      cp.requestReload();
      await expect.poll(() => cp.status().lastError !== null, { timeout: 5000 }).toBe(true);
      expect(cp.version).toBe(version);
      const r = await split(gatewayPort, 100);
      expect(r.failed).toBe(0);
      expect(r.v2).toBeGreaterThanOrEqual(85);
    });
  });
}
