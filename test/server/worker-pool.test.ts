// `--workers N` through the proxy runtime: every worker thread serves on the shared port, a
// reloaded config reaches all of them, /stats and /clusters sum them, a crashed worker is
// reported while the others keep serving, and close() stops every thread. The worker threads
// run the built dist/host/server/proxy-worker.js (npm run build).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';
import { request } from '../helpers/http-client.js';
import { meshYaml } from '../helpers/mesh-yaml.js';

let runtime: ProxyRuntime | null = null;
let upstream: HttpUpstream | null = null;
let dir: string | null = null;

afterEach(async () => {
  await runtime?.close();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  runtime = upstream = dir = null;
});

async function start(workers: number, logs: string[] = [], access: string[] = []): Promise<ProxyRuntime> {
  upstream = await startHttpUpstream((_req, res) => res.end('from upstream'));
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-workers-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(upstream.port, 'v1'));
  runtime = await startProxyRuntime({
    sources: [dir],
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    accessLogBatch: (text) => access.push(text),
    workers,
    log: (level, message) => logs.push(`${level} ${message}`),
    debounceMs: 20,
  });
  return runtime;
}

/** downstream_rq_total of the main thread (worker 0) and of each worker thread. */
function perWorkerRequests(rt: ProxyRuntime): number[] {
  const main = rt.proxy.stats.list().find(([n]) => n === 'downstream_rq_total')?.[1] ?? 0;
  const others = rt.workers!.snapshots().map((s) => s.stats.find((r) => r.name === 'downstream_rq_total')?.value ?? 0);
  return [main, ...others];
}

async function adminText(rt: ProxyRuntime, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${rt.adminPort}${path}`);
  return res.text();
}

/** Requests on fresh connections (the kernel balances connections, not requests). */
async function many(port: number, n: number, path = '/'): Promise<Array<{ status: number; body: string }>> {
  const out: Array<{ status: number; body: string }> = [];
  for (let i = 0; i < n; i += 8) {
    const batch = await Promise.all(Array.from({ length: Math.min(8, n - i) }, () => request(port, { path })));
    for (const r of batch) out.push({ status: r.status, body: r.body.toString() });
  }
  return out;
}

describe('wasmesh proxy --workers', () => {
  it('every worker serves on the one port; /stats sums them', async () => {
    const rt = await start(3);
    expect(rt.workers!.live).toBe(2);
    const results = await many(rt.listenPort, 120);
    expect(results.every((r) => r.status === 200 && r.body === 'from upstream')).toBe(true);
    const counts = perWorkerRequests(rt);
    // SO_REUSEPORT hashes connections over the 3 listeners: 120 fresh connections reach each.
    expect(counts).toHaveLength(3);
    for (const c of counts) expect(c).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(120);
    const stats = await adminText(rt, '/stats');
    expect(stats).toMatch(/^downstream_rq_total: 120$/m);
    expect(stats).toMatch(/^control\.workers_live: 3$/m);
    const clusters = JSON.parse(await adminText(rt, '/clusters?format=wasmesh')) as { clusters: Array<{ name: string; endpoints: unknown[] }> };
    // One entry per cluster, not one per worker.
    const names = clusters.clusters.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  }, 60_000);

  it('a reloaded config reaches every worker', async () => {
    const rt = await start(2);
    expect((await many(rt.listenPort, 8, '/local')).every((r) => r.body === 'v1')).toBe(true);
    writeFileSync(join(dir!, 'mesh.yaml'), meshYaml(upstream!.port, 'v2'));
    const deadline = Date.now() + 10_000;
    while (rt.manager.version < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rt.manager.version).toBe(2);
    await rt.workers!.whenApplied(2);
    expect(rt.workers!.appliedVersions).toEqual([2]);
    const results = await many(rt.listenPort, 64, '/local');
    expect(results.every((r) => r.status === 200 && r.body === 'v2')).toBe(true);
    const counts = perWorkerRequests(rt);
    // Both threads answered some of the 64 (+8) requests, all with the new body.
    expect(counts.every((c) => c > 0)).toBe(true);
  }, 60_000);

  it('workers send access-log batches to the main thread', async () => {
    const access: string[] = [];
    const rt = await start(2, [], access);
    await many(rt.listenPort, 40);
    await rt.close();
    const lines = access.join('').split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(40);
    expect(lines.every((l) => / 200 - /.test(l))).toBe(true);
  }, 60_000);

  it('a crashed worker is reported; the others keep serving', async () => {
    const logs: string[] = [];
    const rt = await start(3, logs);
    rt.workers!.failForTest(1, 'injected failure');
    const deadline = Date.now() + 10_000;
    while (rt.workers!.live > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rt.workers!.live).toBe(1);
    expect(rt.workers!.crashes).toBe(1);
    expect(logs.some((l) => l.startsWith('error worker 1 crashed') && l.includes('injected failure') && l.includes('WORKER_CRASHED'))).toBe(true);
    const stats = await adminText(rt, '/stats');
    expect(stats).toMatch(/^control\.worker_crashes: 1$/m);
    expect(stats).toMatch(/^control\.workers_live: 2$/m);
    const results = await many(rt.listenPort, 40);
    expect(results.every((r) => r.status === 200)).toBe(true);
  }, 60_000);

  it('close() stops every worker and frees the port', async () => {
    const rt = await start(2);
    await many(rt.listenPort, 8);
    const port = rt.listenPort;
    await rt.close();
    expect(rt.workers!.live).toBe(0);
    expect(rt.workers!.crashes).toBe(0);
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 60_000);

  it('refuses a worker count that is not a positive integer', async () => {
    await expect(startProxyRuntime({
      sources: ['/nonexistent'], listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, workers: 0, log: () => {},
    })).rejects.toThrow(/WORKERS_INVALID/);
  });
});
