// POST /quitquitquit on a real `wasmesh proxy` process: answered OK, then the proxy drains and
// the process exits 0 on its own, as Envoy's does; a GET changes nothing (405, still serving).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, startProxy } from '../helpers/wasmesh-process.js';
import { meshYaml } from '../helpers/mesh-yaml.js';
import { request } from '../helpers/http-client.js';

let dir = '';
beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-quit-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1, 'hello'));
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('wasmesh proxy and POST /quitquitquit', () => {
  it('GET is refused and changes nothing; POST answers OK, drains and exits 0', async () => {
    const { proc, port, adminPort } = await startProxy(['-f', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--access-log', 'off']);
    try {
      const get = await fetch(`http://127.0.0.1:${adminPort}/quitquitquit`);
      expect([get.status, await get.text()]).toEqual([405, 'Method GET not allowed, POST required.\n']);
      expect((await request(port, { path: '/local', headers: { host: 'svc.test' } })).body.toString()).toBe('hello');
      const post = await fetch(`http://127.0.0.1:${adminPort}/quitquitquit`, { method: 'POST' });
      expect([post.status, await post.text()]).toEqual([200, 'OK\n']);
      expect(await proc.exited).toEqual({ code: 0, signal: null });
      expect(proc.stderr).toMatch(/POST \/quitquitquit: shutting down/);
      expect(proc.stderr).toMatch(/\[info\] stopped\n$/);
    } finally {
      await proc.stop();
    }
  }, 60_000);
});
