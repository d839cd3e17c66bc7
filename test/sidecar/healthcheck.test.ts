// Tests docker/healthcheck.mjs, the image's HEALTHCHECK: healthy exactly when the admin
// endpoint's /ready answers 2xx, at the address WASMESH_ADMIN names.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const HEALTHCHECK = fileURLToPath(new URL('../../docker/healthcheck.mjs', import.meta.url));

let ready = 200;
let seen: string[] = [];
let port = 0;
const server = http.createServer((req, res) => {
  seen.push(req.url ?? '');
  res.statusCode = req.url === '/ready' ? ready : 404;
  res.end();
});
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => { await new Promise((resolve) => server.close(resolve)); });

/** Runs the healthcheck (async, so this process's server can answer it) and returns its exit. */
function check(admin: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HEALTHCHECK], {
      env: { ...process.env, WASMESH_ADMIN: admin, WASMESH_HEALTHCHECK_TIMEOUT_MS: '2000' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('image healthcheck', () => {
  it('is healthy when /ready answers 200', async () => {
    ready = 200; seen = [];
    expect((await check(`127.0.0.1:${port}`)).code).toBe(0);
    expect(seen).toEqual(['/ready']);
  });

  it('probes a wildcard admin bind through loopback', async () => {
    ready = 200;
    expect((await check(`0.0.0.0:${port}`)).code).toBe(0);
  });

  it('is unhealthy while /ready answers 503, and says so', async () => {
    ready = 503;
    const r = await check(`127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/answered 503/);
  });

  it('is unhealthy when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await check(`127.0.0.1:${freePort}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unreachable: ECONNREFUSED/);
  });

  it('rejects an admin address that is not host:port', async () => {
    const r = await check('localhost');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not host:port/);
  });
});
