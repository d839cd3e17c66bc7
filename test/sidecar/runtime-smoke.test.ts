// What the image runs, end to end without Docker: docker/entrypoint.sh starting the real CLI from
// this checkout's build, as the proxy uid when root, serving a request through its listener, passing
// the image HEALTHCHECK, and stopping cleanly (exit 0) on SIGTERM as `docker stop` sends it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRYPOINT = join(ROOT, 'docker/entrypoint.sh');
const HEALTHCHECK = join(ROOT, 'docker/healthcheck.mjs');
const missing = ['dist/host/cli/main.js', 'build/core.wasm'].filter((p) => !existsSync(join(ROOT, p)));
const reason = missing.length ? `not built (${missing.join(', ')} missing; run npm run build)` : null;
if (reason) console.warn(`[sidecar] skipping runtime smoke test: ${reason}`);

/** A port nothing listens on right now (bound, read, released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe.skipIf(reason !== null)('image runtime: entrypoint -> wasmesh proxy', () => {
  let dir = '';
  let upstream: http.Server;
  let proxy: ChildProcess;
  let exited: Promise<{ code: number | null; signal: string | null }>;
  let logs = '';
  let listenPort = 0;
  let adminPort = 0;

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('Version: v0.1'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-runtime-'));
    chmodSync(dir, 0o755); // the proxy runs as uid 1337 when we are root
    writeFileSync(join(dir, 'web.yaml'), [
      'apiVersion: networking.istio.io/v1beta1',
      'kind: ServiceEntry',
      'metadata: { name: web, namespace: default }',
      'spec:',
      '  hosts: [web.default.svc.cluster.local]',
      '  location: MESH_INTERNAL',
      '  resolution: STATIC',
      '  ports: [{ number: 80, name: http, protocol: HTTP }]',
      `  endpoints: [{ address: 127.0.0.1, ports: { http: ${upstreamPort} } }]`,
      '',
    ].join('\n'));
    chmodSync(join(dir, 'web.yaml'), 0o644);
    listenPort = await freePort();
    adminPort = await freePort();
    proxy = spawn(ENTRYPOINT, [], {
      env: {
        ...process.env, WASMESH_HOME: ROOT, WASMESH_CONFIG: dir, WASMESH_PROXY_UID: '1337',
        WASMESH_LISTEN: `127.0.0.1:${listenPort}`, WASMESH_ADMIN: `127.0.0.1:${adminPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proxy.stdout!.on('data', (d) => { logs += d; });
    proxy.stderr!.on('data', (d) => { logs += d; });
    exited = new Promise((resolve) => proxy.on('exit', (code, signal) => resolve({ code, signal })));
    // Bounded wait for the admin endpoint to say the config is loaded.
    for (let i = 0; i < 100; i++) {
      if (proxy.exitCode !== null) throw new Error(`proxy exited early: ${logs}`);
      const ok = await get(adminPort, '/ready', '127.0.0.1').then((r) => r.status === 200, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`proxy not ready in 10 s: ${logs}`);
  });

  afterAll(async () => {
    if (proxy && proxy.exitCode === null && proxy.signalCode === null) proxy.kill('SIGKILL');
    await new Promise((resolve) => upstream?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(process.getuid?.() !== 0)('runs the proxy as uid 1337', () => {
    // Real and effective uid from the kernel's view of the process (exec kept the pid).
    const status = readFileSync(`/proc/${proxy.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1, 3)).toEqual(['1337', '1337']);
  });

  it('proxies a request to the ServiceEntry endpoint', async () => {
    const r = await get(listenPort, '/', 'web.default.svc.cluster.local');
    expect(r).toEqual({ status: 200, body: 'Version: v0.1' });
  });

  it('passes the image HEALTHCHECK', () => {
    const r = spawnSync(process.execPath, [HEALTHCHECK], {
      encoding: 'utf8', env: { ...process.env, WASMESH_ADMIN: `127.0.0.1:${adminPort}` }, timeout: 10_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('stops with exit code 0 on SIGTERM', async () => {
    proxy.kill('SIGTERM');
    const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(result, logs).toEqual({ code: 0, signal: null });
  });
});
