// The scenario apps and the pieces startScenario is built from: the `fail` header as a
// probability, seeded failure draws, misbehaviour knobs, header propagation, the WorkloadEntry
// port rewrite by name, and startScenario's failures leaving nothing running.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ChainApp, failProbability } from '../../host/demo/apps/chain-app.js';
import { ServiceApp } from '../../host/demo/apps/service-app.js';
import { ISTIO101_HEADERS, propagatedHeaders } from '../../host/demo/apps/propagated-headers.js';
import { withWorkloadPorts } from '../../host/demo/demo-config.js';
import { startScenario } from '../../host/demo/scenario-mesh.js';
import { ISTIO101 } from '../../host/demo/istio101-scenario.js';
import { closeClient, get } from '../helpers/scenario-client.js';
import { busyPort } from '../helpers/ports.js';

const ROOT = join(import.meta.dirname, '..', '..');
afterAll(() => closeClient());

describe('failProbability', () => {
  it('reads 0..1, clamps above 1, and treats anything else as 0 (the seed\'s Number(x) || 0)', () => {
    expect([failProbability('0.3'), failProbability('1'), failProbability('7'), failProbability(undefined)]).toEqual([0.3, 1, 1, 0]);
    expect([failProbability('abc'), failProbability('-1'), failProbability(''), failProbability(['0.5', '0.9'])]).toEqual([0, 0, 0, 0.5]);
  });
});

describe('ChainApp', () => {
  it('answers 500 at fail: 1, never at fail: 0, and the same sequence for the same seed', async () => {
    const apps = [new ChainApp({ service: 'backend', version: 'prod', port: 0, seed: 7 }), new ChainApp({ service: 'backend', version: 'prod', port: 0, seed: 7 })];
    try {
      for (const a of apps) await a.listen();
      const url = (a: ServiceApp) => `http://127.0.0.1:${a.port}/`;
      expect((await get(url(apps[0]), { fail: '1' })).status).toBe(500);
      const ok = await get(url(apps[0]), { fail: '0' });
      expect([ok.status, ok.body]).toEqual([200, expect.stringMatching(/^backend-prod - [\d.]+secs\n$/)]);
      const seq = async (a: ServiceApp) => {
        const out: number[] = [];
        for (let i = 0; i < 40; i++) out.push((await get(url(a), { fail: '0.5' })).status);
        return out;
      };
      const [s0, s1] = [await seq(apps[0]), await seq(apps[1])];
      expect(s0.slice(1)).not.toEqual(s1.slice(1)); // apps[0] drew once more (fail: 1) before
      const fresh = new ChainApp({ service: 'backend', version: 'prod', port: 0, seed: 7 });
      await fresh.listen();
      try {
        await get(url(fresh), { fail: '1' });
        expect(await seq(fresh)).toEqual(s0);
      } finally {
        await fresh.close();
      }
      expect(s0.filter((s) => s === 500).length).toBeGreaterThan(8);
      expect(s0.filter((s) => s === 200).length).toBeGreaterThan(8);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('answers 500 naming the cause when its sidecar is unreachable', async () => {
    const app = new ChainApp({ service: 'frontend', version: 'prod', port: 0, next: 'middleware' });
    await app.listen();
    try {
      app.outbound.sidecar = { host: '127.0.0.1', port: 1 };
      const r = await get(`http://127.0.0.1:${app.port}/`);
      expect(r.status).toBe(500);
      expect(r.body).toMatch(/http:\/\/middleware\/ -> connect ECONNREFUSED/);
    } finally {
      await app.close();
    }
  });
});

describe('ServiceApp knobs', () => {
  it('failNext fails that many requests, failStatus every one, and the log keeps host and status', async () => {
    const app = new ServiceApp({ service: 'ratings', version: 'v1', port: 0 });
    await app.listen();
    try {
      const url = `http://127.0.0.1:${app.port}/ratings/0`;
      app.failNext(2, 503);
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await get(url, { host: 'ratings:9080' })).status);
      expect(codes).toEqual([503, 503, 200]);
      app.failStatus = 500;
      expect((await get(url)).status).toBe(500);
      expect(app.seen.map((s) => s.status)).toEqual([503, 503, 200, 500]);
      expect(app.seen[0].host).toBe('ratings:9080');
      expect(app.count).toBe(4);
    } finally {
      await app.close();
    }
  });
});

describe('propagatedHeaders', () => {
  it('keeps only the named headers', () => {
    expect(propagatedHeaders({ fail: '0.3', 'x-dev-user': 'super-secret', 'x-b3-traceid': 'a', cookie: 'c', host: 'h' }, ISTIO101_HEADERS)).toEqual({
      fail: '0.3',
      'x-dev-user': 'super-secret',
      'x-b3-traceid': 'a',
    });
  });
});

describe('withWorkloadPorts', () => {
  const text = `# services
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v1
spec:
  address: 127.0.0.1
  ports:
    http: 15211 # v1
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v2
spec:
  address: 127.0.0.1
  ports:
    http: 15212
`;
  it('rewrites the named entries only, keeping comments', () => {
    const r = withWorkloadPorts(text, { 'reviews-v2': 40001, 'ratings-v1': 40002 });
    expect(r.rewritten).toEqual(['reviews-v2']);
    expect(r.text).toContain('http: 15211 # v1');
    expect(r.text).toContain('http: 40001');
    expect(r.text).toContain('# services');
  });
  it('refuses a named entry without ports', () => {
    expect(() => withWorkloadPorts(text.replace(/ports:\n {4}http: 15212\n/, ''), { 'reviews-v2': 1 })).toThrow(/WorkloadEntry reviews-v2 has no spec.ports/);
  });
});

describe('startScenario failures', () => {
  it('a busy app port is named in the error', async () => {
    const blocker = await busyPort();
    const busy = blocker.port;
    const scenario = { ...ISTIO101, apps: ISTIO101.apps.map((a) => (a.workload === 'middleware-prod' ? { ...a, make: (_p: number, seed: number | undefined) => a.make(busy, seed) } : a)) };
    try {
      await expect(startScenario(scenario, { root: ROOT, listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, freeAppPorts: true })).rejects.toThrow(
        `middleware prod app port ${busy} on 127.0.0.1 is already in use`,
      );
    } finally {
      await blocker.close();
    }
  });

  it('an extra app without a WorkloadEntry is an error', async () => {
    const extra = { workload: 'nobody-v1', port: 15999, sidecar: false, labels: {}, make: (port: number) => new ServiceApp({ service: 'nobody', version: 'v1', port }) };
    await expect(
      startScenario(ISTIO101, { root: ROOT, listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, freeAppPorts: true, extraApps: [extra] }),
    ).rejects.toThrow('no WorkloadEntry named nobody-v1 in the istio101 config');
  });
});
