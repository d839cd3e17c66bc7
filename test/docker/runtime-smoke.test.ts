// What the image runs, end to end without Docker: docker/entrypoint.sh starting the real CLI from
// this checkout's build (the sidecar by default, the one-listener proxy in `proxy` mode), as the
// proxy uid when root, serving requests through its listeners, passing the image HEALTHCHECK, and
// stopping cleanly (exit 0) on SIGTERM as `docker stop` sends it.
import { freePort } from '../helpers/ports.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRoot } from '../helpers/netns.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRYPOINT = join(ROOT, 'docker/entrypoint.sh');
const HEALTHCHECK = join(ROOT, 'docker/healthcheck.mjs');
const missing = ['dist/host/cli/main.js', 'build/core.wasm'].filter((p) => !existsSync(join(ROOT, p)));
const reason = missing.length ? `not built (${missing.join(', ')} missing; run npm run build)` : null;
if (reason) console.warn(`[sidecar] skipping runtime smoke test: ${reason}`);


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

/** A port nothing listens on yet, for each name given. */
async function freePorts<K extends string>(...names: K[]): Promise<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const n of names) out[n] = await freePort();
  return out;
}

/** The entrypoint as a container would run it; resolves once `readyPath` on `readyPort` says 200. */
async function startImage(args: string[], env: Record<string, string>, readyPort: number, readyPath: string) {
  const child = spawn(ENTRYPOINT, args, { env: { ...process.env, WASMESH_HOME: ROOT, WASMESH_PROXY_UID: '1337', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { child, logs: '', exited: null as unknown as Promise<{ code: number | null; signal: string | null }> };
  child.stdout!.on('data', (d) => { run.logs += d; });
  child.stderr!.on('data', (d) => { run.logs += d; });
  // 'close': after the last log bytes are read ('exit' can come first, and the tests read the logs).
  run.exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  // Bounded wait for the config to be loaded and the listeners up.
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`entrypoint exited early: ${run.logs}`);
    const ok = await get(readyPort, readyPath, '127.0.0.1').then((r) => r.status === 200, () => false);
    if (ok) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`not ready in 10 s: ${run.logs}`);
}

function healthcheck(env: Record<string, string>) {
  return spawnSync(process.execPath, [HEALTHCHECK], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 10_000 });
}

async function stopsCleanly(run: Awaited<ReturnType<typeof startImage>>) {
  run.child.kill('SIGTERM');
  const result = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  expect(result, run.logs).toEqual({ code: 0, signal: null });
}

function uidOf(pid: number): string[] | undefined {
  // Real and effective uid from the kernel's view of the process (exec kept the pid).
  return /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.slice(1, 3);
}

describe.skipIf(reason !== null)('image runtime', () => {
  let dir = '';
  let upstream: http.Server;
  let app: http.Server;
  let appPort = 0;

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('Version: v0.1'));
    app = http.createServer((req, res) => res.end(`app saw ${req.headers.host}`));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    appPort = (app.address() as AddressInfo).port;
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
  });

  afterAll(async () => {
    await new Promise((resolve) => upstream?.close(resolve));
    await new Promise((resolve) => app?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('default mode: entrypoint -> wasmesh sidecar', () => {
    let run: Awaited<ReturnType<typeof startImage>>;
    let p: Record<'outbound' | 'inbound' | 'health' | 'admin', number>;

    beforeAll(async () => {
      p = await freePorts('outbound', 'inbound', 'health', 'admin');
      run = await startImage([], {
        WASMESH_CONFIG: dir, WASMESH_APP_PORTS: String(appPort),
        WASMESH_OUTBOUND: `127.0.0.1:${p.outbound}`, WASMESH_INBOUND: `127.0.0.1:${p.inbound}`,
        WASMESH_HEALTH: `127.0.0.1:${p.health}`, WASMESH_ADMIN: `127.0.0.1:${p.admin}`,
      }, p.health, '/healthz/ready');
    });
    afterAll(() => { if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL'); });

    it.skipIf(skipUnlessRoot())('runs the sidecar as uid 1337', () => {
      expect(uidOf(run.child.pid!)).toEqual(['1337', '1337']);
    });

    it('routes an outbound request to the ServiceEntry endpoint', async () => {
      expect(await get(p.outbound, '/', 'web.default.svc.cluster.local')).toEqual({ status: 200, body: 'Version: v0.1' });
    });

    it('hands an inbound request to the app port its Host names', async () => {
      expect(await get(p.inbound, '/', `pod:${appPort}`)).toEqual({ status: 200, body: `app saw pod:${appPort}` });
      expect((await get(p.inbound, '/', 'pod:1')).status).toBe(404);
    });

    it('passes the image HEALTHCHECK through the health port', () => {
      const r = healthcheck({ WASMESH_HEALTH: `127.0.0.1:${p.health}`, WASMESH_ADMIN: `127.0.0.1:${p.admin}` });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('stops with exit code 0 on SIGTERM', async () => { await stopsCleanly(run); });
  });

  describe('`proxy` mode: entrypoint -> wasmesh proxy (one listener, for gateways)', () => {
    let run: Awaited<ReturnType<typeof startImage>>;
    let p: Record<'listen' | 'admin' | 'health', number>;

    beforeAll(async () => {
      p = await freePorts('listen', 'admin', 'health');
      run = await startImage(['proxy'], {
        WASMESH_CONFIG: dir, WASMESH_LISTEN: `127.0.0.1:${p.listen}`, WASMESH_ADMIN: `127.0.0.1:${p.admin}`,
      }, p.admin, '/ready');
    });
    afterAll(() => { if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL'); });

    it('proxies a request to the ServiceEntry endpoint', async () => {
      expect(await get(p.listen, '/', 'web.default.svc.cluster.local')).toEqual({ status: 200, body: 'Version: v0.1' });
    });

    it('passes the image HEALTHCHECK through the admin port (no health port in this mode)', () => {
      const r = healthcheck({ WASMESH_HEALTH: `127.0.0.1:${p.health}`, WASMESH_ADMIN: `127.0.0.1:${p.admin}` });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('stops with exit code 0 on SIGTERM', async () => { await stopsCleanly(run); });
  });
});
