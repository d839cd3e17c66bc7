// Tests docker/healthcheck.mjs, the image's HEALTHCHECK: healthy exactly when the sidecar's health
// port answers 2xx to /healthz/ready at WASMESH_HEALTH; when nothing listens there (the `proxy`
// mode has no health port), exactly when the admin endpoint's /ready at WASMESH_ADMIN answers 2xx.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { closedPort as aClosedPort } from '../helpers/ports.js';

const HEALTHCHECK = fileURLToPath(new URL('../../docker/healthcheck.mjs', import.meta.url));

/** A stand-in for one port: answers `status` on `path`, 404 elsewhere, and records what it saw. */
function port(path: string) {
  const p = { status: 200, seen: [] as string[], port: 0, server: null as unknown as http.Server };
  p.server = http.createServer((req, res) => {
    p.seen.push(req.url ?? '');
    res.statusCode = req.url === path ? p.status : 404;
    res.end();
  });
  return p;
}
const health = port('/healthz/ready');
const admin = port('/ready');
let closedPort = 0;

beforeAll(async () => {
  for (const p of [health, admin]) {
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    p.port = (p.server.address() as AddressInfo).port;
  }
  closedPort = await aClosedPort();
});
afterAll(async () => {
  for (const p of [health, admin]) await new Promise((resolve) => p.server.close(resolve));
});

/** Runs the healthcheck (async, so this process's servers can answer it) and returns its exit. */
function check(healthAddr: string, adminAddr: string): Promise<{ code: number | null; stderr: string }> {
  health.seen = [];
  admin.seen = [];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEALTHCHECK], {
      env: { ...process.env, WASMESH_HEALTH: healthAddr, WASMESH_ADMIN: adminAddr, WASMESH_HEALTHCHECK_TIMEOUT_MS: '2000' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stderr })); // after the last stderr bytes ('exit' can come first)
  });
}

describe('image healthcheck', () => {
  it('is healthy when the health port answers /healthz/ready with 200, without asking the admin port', async () => {
    health.status = 200;
    expect((await check(`127.0.0.1:${health.port}`, `127.0.0.1:${admin.port}`)).code).toBe(0);
    expect(health.seen).toEqual(['/healthz/ready']);
    expect(admin.seen).toEqual([]);
  });

  it('probes a wildcard bind through loopback', async () => {
    health.status = 200;
    expect((await check(`0.0.0.0:${health.port}`, `127.0.0.1:${closedPort}`)).code).toBe(0);
  });

  it('is unhealthy while the health port answers 503, even if the admin port says ready', async () => {
    health.status = 503;
    admin.status = 200;
    const r = await check(`127.0.0.1:${health.port}`, `127.0.0.1:${admin.port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/healthz\/ready answered 503/);
    expect(admin.seen).toEqual([]);
  });

  it('asks the admin /ready when nothing listens on the health port (proxy mode)', async () => {
    admin.status = 200;
    expect((await check(`127.0.0.1:${closedPort}`, `127.0.0.1:${admin.port}`)).code).toBe(0);
    expect(admin.seen).toEqual(['/ready']);
    admin.status = 503;
    const r = await check(`127.0.0.1:${closedPort}`, `127.0.0.1:${admin.port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\/ready answered 503/);
  });

  it('is unhealthy when nothing listens on either port, and says so', async () => {
    const r = await check(`127.0.0.1:${closedPort}`, `127.0.0.1:${closedPort}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/neither .* nor .* accepts connections \(ECONNREFUSED\)/);
  });

  it('rejects an address that is not host:port', async () => {
    let r = await check('localhost', `127.0.0.1:${admin.port}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/WASMESH_HEALTH 'localhost' is not host:port/);
    r = await check(`127.0.0.1:${health.port}`, 'localhost');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/WASMESH_ADMIN 'localhost' is not host:port/);
  });
});
