// ConfigManager driving the real ProxyServer over real sockets: a weight change written to a
// watched file swaps the route table under load without a failed request, and an invalid
// change leaves the old table serving. YAML is out of the picture here (a tiny JSON loader).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { ConfigManager, type ConfigLoader } from '../../host/control/config-manager.js';
import { WebApp } from '../../host/demo/web-app.js';
import { noHeaderOps, type MeshConfig } from '../../host/model/mesh.js';

let apps: WebApp[] = [];
let proxy: ProxyServer;
let manager: ConfigManager;
let dir = '';
let url = '';

function mesh(w1: number, w2: number): MeshConfig {
  const cluster = (subset: string, port: number) => ({
    name: `outbound|5005|${subset}|web.default.svc.cluster.local`,
    host: 'web.default.svc.cluster.local',
    port: 5005,
    subset,
    endpoints: [{ address: '127.0.0.1', port, labels: { version: subset }, weight: 1 }],
    lb: 'ROUND_ROBIN' as const,
  });
  return {
    virtualHosts: [
      {
        name: 'web',
        domains: ['*'],
        routes: [
          {
            name: 'default/web/0',
            matches: [],
            destinations: [
              { cluster: cluster('v1', apps[0].port).name, weight: w1, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() },
              { cluster: cluster('v2', apps[1].port).name, weight: w2, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() },
            ],
            requestHeaders: noHeaderOps(),
            responseHeaders: noHeaderOps(),
            timeoutMs: null,
          },
        ],
      },
    ],
    clusters: [cluster('v1', apps[0].port), cluster('v2', apps[1].port)],
  };
}

/** `{"weights":[80,20]}` in split.json; anything else is invalid. */
const load: ConfigLoader = (sources) => {
  const file = join(sources[0], 'split.json');
  const { weights } = JSON.parse(readFileSync(file, 'utf8')) as { weights: [number, number] };
  if (!Array.isArray(weights) || weights[0] + weights[1] !== 100) throw Object.assign(new Error(`${file}: weights must sum to 100`), { code: 'invalid_config' });
  return { resources: { weights }, mesh: mesh(weights[0], weights[1]), warnings: [], files: [file] };
};

async function one(): Promise<string> {
  try {
    const res = await fetch(url);
    const body = await res.text();
    return res.status === 200 ? body.replace('Version: ', '') : `${res.status} ${body}`;
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

function loop(concurrency = 4) {
  const results: string[] = [];
  let stop = false;
  const done = Promise.all(Array.from({ length: concurrency }, async () => { while (!stop) results.push(await one()); }));
  return { results, stop: async () => { stop = true; await done; } };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  apps = [new WebApp({ version: 'v0.1', port: 0 }), new WebApp({ version: 'v0.2', port: 0 })];
  for (const a of apps) await a.listen();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-swap-'));
  writeFileSync(join(dir, 'split.json'), JSON.stringify({ weights: [80, 20] }));
  proxy = new ProxyServer({ host: '127.0.0.1', port: 0 });
  manager = new ConfigManager({ sources: [dir], target: proxy, load, debounceMs: 50 });
  manager.start();
  manager.watch();
  await proxy.listen();
  url = `http://127.0.0.1:${proxy.port}/`;
});

afterAll(async () => {
  manager?.close();
  await proxy?.close();
  await Promise.all(apps.map((a) => a.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('hot swap through ConfigManager and ProxyServer', () => {
  it('serves 80/20 exactly per 100 sequential requests', async () => {
    const r: string[] = [];
    for (let i = 0; i < 100; i++) r.push(await one());
    expect(r.filter((x) => x === 'v0.1').length).toBe(80);
    expect(r.filter((x) => x === 'v0.2').length).toBe(20);
  });

  it('swaps to 5/95 under load with no failed request, and ignores an invalid edit', async () => {
    const bg = loop();
    await until(() => bg.results.length >= 100, 'load');
    writeFileSync(join(dir, 'split.json'), JSON.stringify({ weights: [5, 95] }));
    await until(() => manager.version === 2, 'version 2');
    let mark = bg.results.length;
    await until(() => bg.results.length >= mark + 300, 'load after swap');
    const last = bg.results.slice(-200);
    expect(last.filter((x) => x === 'v0.2').length).toBeGreaterThanOrEqual(185);

    writeFileSync(join(dir, 'split.json'), JSON.stringify({ weights: [50, 20] }));
    await until(() => manager.lastError !== null, 'rejection');
    mark = bg.results.length;
    await until(() => bg.results.length >= mark + 200, 'load after bad edit');
    await bg.stop();
    expect(manager.version).toBe(2);
    expect(bg.results.filter((x) => x !== 'v0.1' && x !== 'v0.2')).toEqual([]);
    expect(bg.results.slice(mark).filter((x) => x === 'v0.2').length).toBeGreaterThanOrEqual(185);
  });
});
