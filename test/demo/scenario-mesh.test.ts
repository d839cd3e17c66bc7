// startScenario's proxies are programmed by its control plane over xDS and share one process:
// every proxy is connected and SYNCED (/debug/syncz), what they all warn about is printed once
// per version (seed 003's three TLS warnings, not 3 × 4 proxies), at start and after a change;
// an invalid edit is reported and the last good config keeps serving.
import { describe, expect, it } from 'vitest';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { syncz } from '../../host/control-plane/monitoring-server.js';

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('startScenario', () => {
  it('istio101: each distinct load warning once per load across the gateway and the three sidecars', async () => {
    const logs: string[] = [];
    const run = await startScenario(ISTIO101, {
      root: process.cwd(),
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      freeAppPorts: true,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    try {
      const proxies = [run.gateway, ...run.sidecars.values()];
      expect(proxies).toHaveLength(4);
      const cp = run.controlPlane.controlPlane;
      const synced = () => syncz(cp).filter((e) => e.types.wasmesh?.state === 'SYNCED' && e.error === null).map((e) => e.proxy).sort();
      await until(() => synced().length === 4, 'four proxies SYNCED');
      expect(synced()).toEqual(['frontend-prod', 'istio-ingressgateway', 'middleware-canary', 'middleware-prod'].map((p) => `${p === 'istio-ingressgateway' ? 'router' : 'sidecar'}~127.0.0.1~${p}.default~default.svc.cluster.local`).sort());
      for (const p of proxies) expect(p.runtime.manager.dump().resources).toMatchObject({ source: 'xds' });
      const tls = () => logs.filter((l) => l.startsWith('warn: ') && l.includes('trafficPolicy.tls'));
      expect(tls()).toHaveLength(3);
      expect(new Set(tls()).size).toBe(3);

      // A change every proxy reloads: the warnings of the new load, once each again.
      copyFileSync(join(process.cwd(), ISTIO101.example, 'variants', '03-retry-on-5xx.yaml'), join(run.runDir, '03-retry-on-5xx.yaml'));
      await until(() => proxies.every((p) => p.runtime.manager.version === 2), 'every proxy to apply the change');
      expect(tls()).toHaveLength(6);
      expect(new Set(tls()).size).toBe(3);

      // An invalid edit: the control plane says so; version 2 keeps being served to every proxy.
      writeFileSync(join(run.runDir, '04-broken.yaml'), 'kind: VirtualService\nmetadata: {name: broken}\nspec: {http: [{route: [{destination: {}}]}]}\n');
      await until(() => cp.status().lastError !== null, 'the rejection');
      expect(logs.some((l) => l.startsWith('error: control plane: config change rejected; version 2 keeps being served') && l.includes('04-broken.yaml'))).toBe(true);
      expect(cp.version).toBe(2);
      const body = await (await fetch(`${run.gateway.url}/`)).text();
      expect(body).toMatch(/^frontend-prod .*\nhttp:\/\/middleware\/ -> middleware-prod /);
      expect(proxies.every((p) => p.runtime.manager.version === 2)).toBe(true);
    } finally {
      await run.close();
    }
  }, 60_000);
});
