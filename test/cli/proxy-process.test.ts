// `wasmesh proxy` as a real child process: usage errors (exit 2), invalid config at start
// (exit 1 with the clear error), the admin endpoints, SIGHUP reload and graceful SIGINT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { WebApp } from '../../host/demo/web-app.js';
import { ensureBuilt, startProxy, WasmeshProcess } from '../helpers/wasmesh-process.js';
import { webServices } from '../helpers/seed-000-yaml.js';

let dir = '';
let app: WebApp;
let hold: Server;

const gatewayAndRoute = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: web-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: web
spec:
  hosts:
  - "*"
  gateways:
  - web-gateway
  http:
  - match:
    - uri:
        exact: /
    route:
    - destination:
        host: web
        port:
          number: 5005
`;

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new WasmeshProcess(args);
  const exit = await p.exited;
  return { code: exit.code, stdout: p.stdout, stderr: p.stderr };
}

beforeAll(async () => {
  await ensureBuilt();
  app = new WebApp({ version: 'v0.1', port: 0 });
  await app.listen();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-cli-'));
  writeFileSync(join(dir, 'services.yaml'), webServices({ v1: app.port }));
  writeFileSync(join(dir, 'gateway.yaml'), gatewayAndRoute);
}, 300_000);

afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('wasmesh (process)', () => {
  it('prints help (exit 0) and rejects bad usage (exit 2)', async () => {
    const help = await run(['proxy', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: wasmesh proxy [flags]');
    expect(help.stdout).toContain('--gateway <name|ns/name>');

    const unknown = await run(['proxy', '-f', dir, '--listen', '127.0.0.1:0', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('wasmesh proxy: unknown flag --bogus');

    const missing = await run(['proxy', '--listen', '127.0.0.1:0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('at least one -f <file|dir> is required');

    const noValue = await run(['proxy', '-f', dir, '--listen']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('flag --listen needs a value');

    const cmd = await run(['prxy']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('unknown command "prxy"');
  });

  it('exits 1 with the clear error when the config is invalid at start', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'wasmesh-cli-bad-'));
    try {
      writeFileSync(join(bad, 'vs.yaml'), gatewayAndRoute.replace('number: 5005', 'number: five'));
      const r = await run(['proxy', '-f', bad, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--gateway', 'web-gateway']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('invalid config');
      expect(r.stderr).toContain(join(bad, 'vs.yaml'));
      expect(r.stderr).toContain('VirtualService default/web');
      expect(r.stderr).toContain('port.number');

      const none = await run(['proxy', '-f', join(bad, 'missing.yaml'), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('missing.yaml');
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('serves, answers the admin API, reloads on SIGHUP and stops on SIGINT', async () => {
    const { proc, port, adminPort } = await startProxy(['-f', dir, '--listen', '127.0.0.1:0', '--gateway', 'web-gateway', '--admin', '127.0.0.1:0']);
    try {
      const admin = `http://127.0.0.1:${adminPort}`;
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'user-agent': 'test-agent' } });
      expect([res.status, await res.text()]).toEqual([200, 'Version: v0.1']);
      expect((await fetch(`http://127.0.0.1:${port}/nowhere`)).status).toBe(404);

      const ready = await fetch(`${admin}/ready`);
      expect([ready.status, await ready.text()]).toEqual([200, 'LIVE\n']);
      const dump = (await (await fetch(`${admin}/config_dump?format=wasmesh`)).json()) as Record<string, unknown>;
      expect(dump.version).toBe(1);
      expect(dump.lastError).toBeNull();
      expect(JSON.stringify(dump.resources)).toContain('web-gateway');
      expect(JSON.stringify(dump.mesh)).toContain('web.default.svc.cluster.local');
      const stats = await (await fetch(`${admin}/stats`)).text();
      expect(stats).toMatch(/^control\.config_version: 1$/m);
      expect(stats).toMatch(/upstream_rq_total: 1$/m);
      const statsJson = (await (await fetch(`${admin}/stats?format=json`)).json()) as Record<string, number>;
      expect(statsJson['control.reloads_total']).toBe(0);
      const clusters = await (await fetch(`${admin}/clusters`)).text();
      expect(clusters).toContain(`127.0.0.1:${app.port}`);
      expect((await fetch(`${admin}/clusters?format=wasmesh`)).status).toBe(200);
      expect((await fetch(`${admin}/nope`)).status).toBe(404);

      // Access log: one Envoy-format line per request on stdout.
      await proc.waitFor(/"GET \/nowhere HTTP\/1\.1" 404 NR /, 'stdout');
      expect(proc.stdout).toMatch(/^\[\d{4}-\d\d-\d\dT[^\]]+Z\] "GET \/ HTTP\/1\.1" 200 - 0 13 \d+ \S+ "[^"]*" "test-agent"|"GET \/ HTTP\/1\.1" 200 - /m);

      proc.child.kill('SIGHUP');
      // The reload reads the config in a child process without blocking the proxy: wait for it.
      let after: Record<string, number> = {};
      for (let i = 0; i < 200 && after['control.reloads_unchanged_total'] !== 1; i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = (await (await fetch(`${admin}/stats?format=json`)).json()) as Record<string, number>;
      }
      expect(after['control.reloads_total']).toBe(1);
      expect(after['control.reloads_unchanged_total']).toBe(1);
    } finally {
      // Clients here still hold idle keep-alive connections: shutdown must not wait on them.
      const t0 = Date.now();
      const exit = await proc.stop('SIGINT');
      expect(exit).toEqual({ code: 0, signal: null });
      // Idle keep-alive clients never hang up here: a shutdown that waited on them would never end.
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    expect(proc.stderr).toContain('stopped');
  });

  it('warns on stderr and in /config_dump when the config gives it nothing to serve', async () => {
    // Mesh mode (no --gateway) over a VirtualService bound to a Gateway, and no ServiceEntry.
    const idleDir = mkdtempSync(join(tmpdir(), 'wasmesh-cli-idle-'));
    writeFileSync(join(idleDir, 'gateway.yaml'), gatewayAndRoute);
    const { proc, adminPort } = await startProxy(['-f', idleDir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
    try {
      expect(proc.stderr).toMatch(/warn.*this proxy serves nothing in mesh mode .*default\/web → web-gateway.*run with --gateway web-gateway/);
      const dump = (await (await fetch(`http://127.0.0.1:${adminPort}/config_dump?format=wasmesh`)).json()) as { warnings: string[] };
      expect(dump.warnings).toEqual([expect.stringMatching(/^this proxy serves nothing in mesh mode/)]);
    } finally {
      await proc.stop('SIGINT');
      rmSync(idleDir, { recursive: true, force: true });
    }
  });

  it('a second SIGTERM during the drain does not kill it: the in-flight request is answered, exit 0', async () => {
    // Supervisors repeat SIGTERM (coreutils `timeout` signals the child, then its process group).
    // An upstream that holds its answer keeps one request in flight, so the drain lasts until
    // the test lets it go.
    let release = () => {};
    const held = new Promise<void>((arrived) => {
      hold = createServer((sock) => {
        sock.once('data', () => {
          arrived();
          release = () => sock.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nheld');
        });
      });
    });
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
    const holdDir = mkdtempSync(join(tmpdir(), 'wasmesh-cli-hold-'));
    writeFileSync(join(holdDir, 'services.yaml'), webServices({ v1: (hold.address() as AddressInfo).port }));
    writeFileSync(join(holdDir, 'gateway.yaml'), gatewayAndRoute);
    const { proc, port } = await startProxy(['-f', holdDir, '--listen', '127.0.0.1:0', '--gateway', 'web-gateway', '--admin', '127.0.0.1:0']);
    try {
      const answer = fetch(`http://127.0.0.1:${port}/`).then(async (res) => [res.status, await res.text()], (err) => ['failed', String(err.cause ?? err)]);
      await held;
      proc.child.kill('SIGTERM');
      await proc.waitFor(/SIGTERM: shutting down/);
      proc.child.kill('SIGTERM');
      await proc.waitFor(/SIGTERM again: already draining/);
      expect(proc.running).toBe(true);
      release();
      expect(await answer).toEqual([200, 'held']);
      const exit = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
      expect(exit, proc.stderr).toEqual({ code: 0, signal: null });
    } finally {
      if (proc.running) await proc.stop('SIGKILL');
      hold.close();
      rmSync(holdDir, { recursive: true, force: true });
    }
  });
});
