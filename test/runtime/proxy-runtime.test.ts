// The proxy runtime over loopback: /ready once the listener is up, access-log lines batched and
// flushed by close(), and a listener port that cannot be bound named by its role with the admin
// port freed again.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { request } from '../helpers/http-client.js';
import { meshYaml } from '../helpers/mesh-yaml.js';
import { busyPort as heldPort, closedPort } from '../helpers/ports.js';

// The admin API answers only an IP address or localhost as Host (DNS rebinding).
const ADMIN_HOST = { host: '127.0.0.1' };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function meshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-proxy-rt-'));
  dirs.push(dir);
  // Only /local is asked for: the endpoint behind the rest is never dialled.
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1, 'hello'));
  return dir;
}

const LOOPBACK = { host: '127.0.0.1', port: 0 };

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

describe('proxy runtime', () => {
  it('serves, answers /ready, and writes the batched access log by close()', async () => {
    const chunks: string[] = [];
    const rt = await startProxyRuntime({ sources: [meshDir()], listen: LOOPBACK, admin: LOOPBACK, accessLogBatch: (t) => chunks.push(t), log: () => {} });
    try {
      expect((await request(rt.adminPort, { path: '/ready', headers: ADMIN_HOST })).body.toString()).toBe('LIVE\n');
      const r = await request(rt.listenPort, { path: '/local', headers: { host: 'svc.test' } });
      expect(r.body.toString()).toBe('hello');
      // Batched: nothing written yet (the buffer flushes every 100 ms).
      expect(chunks).toEqual([]);
    } finally {
      await rt.close();
    }
    expect(chunks.join('')).toMatch(/^\[[^\]]+\] "GET \/local HTTP\/1.1" 200 - .*\n$/);
    expect(await refused(rt.adminPort)).toBe(true);
    expect(await refused(rt.listenPort)).toBe(true);
  });

  it('a busy listener port is named by its role, and the admin port is freed', async () => {
    const busy = await heldPort();
    const busyPort = busy.port;
    // The admin API binds first; a fixed free port lets the test see it freed afterwards.
    const adminPort = await closedPort();
    try {
      await expect(startProxyRuntime({
        sources: [meshDir()], listen: { host: '127.0.0.1', port: busyPort }, admin: { host: '127.0.0.1', port: adminPort }, listenRole: 'gateway', log: () => {},
      })).rejects.toMatchObject({ code: 'port_in_use', role: 'gateway', message: `gateway port ${busyPort} on 127.0.0.1 is already in use` });
      expect(await refused(adminPort)).toBe(true);
    } finally {
      await busy.close();
    }
  });
});
