// Version swaps under load (no failed request, the split follows, superseded versions freed
// once drained) and the limits that need special setups: connect timeout against a listener
// whose accept queue is full, and the validation of the Limits object itself.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../host/common/limits.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import type { RouteConfig as ProxyVersion } from '../../host/http/route-config.js';
import { startHttpUpstream } from '../helpers/upstream-servers.js';
import { request } from '../helpers/http-client.js';
import { mesh, oneCluster } from '../helpers/mesh-fixtures.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function split(v1: number, v2: number, p1: number, p2: number) {
  return mesh(
    [{ name: 'v1', ports: [p1] }, { name: 'v2', ports: [p2] }],
    [{ name: 'default/web/0', dests: [{ cluster: 'v1', weight: v1 }, { cluster: 'v2', weight: v2 }] }],
  );
}

describe('version swap under load', () => {
  it('applies 80/20 → 5/95 → 80/20 while clients run: no failed request, split follows, old versions freed', async () => {
    const a = await startHttpUpstream((_q, r) => r.end('v1'));
    const b = await startHttpUpstream((_q, r) => r.end('v2'));
    const logs: AccessLogEntry[] = [];
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e) });
    cleanups.push(() => b.close(), () => a.close(), () => p.close());
    p.apply(split(80, 20, a.port, b.port), 1);
    await p.listen();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(() => agent.destroy());
    const results: Array<{ version: number; body: string; status: number }> = [];
    const failures: unknown[] = [];
    let phase = 1;
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const v = phase;
        try {
          const r = await request(p.port, { agent });
          results.push({ version: v, body: r.body.toString(), status: r.status });
        } catch (e) {
          failures.push(e);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const versions: ProxyVersion[] = [p.current!];
    const runPhase = async (): Promise<void> => {
      const start = results.length;
      while (results.length - start < 300) await new Promise((r) => setTimeout(r, 5));
    };
    await runPhase();
    p.apply(split(5, 95, a.port, b.port), 2);
    versions.push(p.current!);
    phase = 2;
    await new Promise((r) => setTimeout(r, 20)); // let requests begun on v1 finish
    const phase2Start = results.length;
    await runPhase();
    const phase2 = results.slice(phase2Start, phase2Start + 200);
    p.apply(split(80, 20, a.port, b.port), 3);
    phase = 3;
    await runPhase();
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const share2 = phase2.filter((r) => r.body === 'v2').length / phase2.length;
    expect(share2).toBeGreaterThan(0.9);
    const phase1 = results.slice(0, 300);
    const share1 = phase1.filter((r) => r.body === 'v1').length / phase1.length;
    expect(Math.abs(share1 - 0.8)).toBeLessThan(0.03);
    // Superseded versions release their core memory once their last request is done.
    expect(versions[0]!.freed).toBe(true);
    expect(versions[1]!.freed).toBe(true);
    expect(p.current!.freed).toBe(false);
    // Keep-alive upstream connections survived the swaps: far fewer than requests.
    expect(a.connections + b.connections).toBeLessThanOrEqual(16);
    expect(new Set(logs.map((l) => l.version))).toEqual(new Set([1, 2, 3]));
  }, 30_000);
});

describe('limits', () => {
  const python = spawnSync('python3', ['-c', 'print(1)']).status === 0;

  it.skipIf(!python)('connect timeout → 503 UF and upstream_cx_connect_timeout (listener with a full accept queue)', async () => {
    // A Python listener with backlog 0 that never accepts: once its queue is full the kernel
    // drops further SYNs, so a connect hangs, the only portable way to hang one on loopback.
    const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)']);
    cleanups.push(() => void py.kill());
    const port = await new Promise<number>((r) => py.stdout.once('data', (d) => r(Number(String(d).trim()))));
    const net = await import('node:net');
    const fill = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    cleanups.push(() => fill.forEach((s) => s.destroy()));
    await new Promise((r) => setTimeout(r, 200));
    const logs: AccessLogEntry[] = [];
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { connectTimeoutMs: 200 } });
    cleanups.push(() => p.close());
    // Retries off (Istio attempts: 0), so one connect timeout answers.
    const m = oneCluster([port]);
    m.virtualHosts[0]!.routes[0]!.retry = retryPolicyFromIstio({ attempts: 0 });
    p.apply(m, 1);
    await p.listen();
    const t0 = Date.now();
    const r = await request(p.port);
    expect(r.status).toBe(503);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(logs[0]!.flags).toBe('UF');
    expect(p.stats.cluster('backend').get('upstream_cx_connect_timeout')).toBe(1);
  });

  it('has Envoy/Istio defaults and rejects invalid overrides with a stable code', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxRequestHeadBytes: 60 * 1024,
      maxRequestHeaders: 100,
      connectTimeoutMs: 10_000,
      upstreamIdleTimeoutMs: 3_600_000,
      maxConnectionsPerCluster: 1024,
    });
    expect(resolveLimits({ connectTimeoutMs: 5 }).connectTimeoutMs).toBe(5);
    expect(() => resolveLimits({ connectTimeoutMs: -1 })).toThrow(/LIMIT_INVALID/);
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(/LIMIT_UNKNOWN/);
  });

  it('closes idle upstream connections after upstreamIdleTimeoutMs (proxy level)', async () => {
    const up = await startHttpUpstream((_q, r) => r.end('x'));
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { upstreamIdleTimeoutMs: 100 } });
    cleanups.push(() => up.close(), () => p.close());
    p.apply(oneCluster([up.port]), 1);
    await p.listen();
    await request(p.port);
    expect(p.clusters()[0]!.endpoints[0]!.connections.idle).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.clusters()[0]!.endpoints[0]!.connections.idle).toBe(0);
    expect(up.open.size).toBe(0);
    await request(p.port);
    expect(up.connections).toBe(2);
  });

  it('close() lets an in-flight request finish within the drain period and refuses new ones', async () => {
    const hold: http.ServerResponse[] = [];
    const up = await startHttpUpstream((_q, r) => hold.push(r));
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 2000 } });
    cleanups.push(() => up.close());
    p.apply(oneCluster([up.port]), 1);
    await p.listen();
    const inflight = request(p.port);
    while (hold.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = p.close();
    await expect(request(p.port)).rejects.toThrow(); // listener closed
    setTimeout(() => hold[0]!.end('finished'), 50);
    expect((await inflight).body.toString()).toBe('finished');
    await closing;
    expect(p.inflight).toBe(0);
  });
});
