// startScenario's proxies share one process: what they all warn about is printed once per
// load (seed 003's three TLS warnings, not 3 × 4 proxies), at start and after a change.
import { describe, expect, it } from 'vitest';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';

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
      const tls = () => logs.filter((l) => l.startsWith('warn: ') && l.includes('trafficPolicy.tls'));
      expect(tls()).toHaveLength(3);
      expect(new Set(tls()).size).toBe(3);

      // A change every proxy reloads: the warnings of the new load, once each again.
      copyFileSync(join(process.cwd(), ISTIO101.example, 'variants', '03-retry-on-5xx.yaml'), join(run.runDir, '03-retry-on-5xx.yaml'));
      await until(() => proxies.every((p) => p.runtime.manager.version === 2), 'every proxy to apply the change');
      expect(tls()).toHaveLength(6);
      expect(new Set(tls()).size).toBe(3);
    } finally {
      await run.close();
    }
  }, 60_000);
});
