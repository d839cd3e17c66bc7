// The admin API over a real loopback socket: readiness, dumps, stats formats, 404/405.
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer, type AdminSources } from '../../host/admin/admin-server.js';
import { ListenError } from '../../host/control/listen-error.js';

let servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(sources: Partial<AdminSources>, port = 0): Promise<AdminServer> {
  const full: AdminSources = {
    ready: () => true,
    configDump: () => ({ version: 3 }),
    statsText: () => 'a.b: 1\n',
    statsJson: () => ({ 'a.b': 1 }),
    clustersText: () => 'c::1.2.3.4:5::health_flags::healthy\n',
    clustersJson: () => ({ clusters: [] }),
    ...sources,
  };
  const s = new AdminServer({ port, sources: full });
  servers.push(s);
  await s.listen();
  return s;
}

describe('AdminServer', () => {
  it('binds loopback by default and serves each endpoint', async () => {
    let ready = false;
    const s = await start({ ready: () => ready });
    expect(s.host).toBe('127.0.0.1');
    const base = `http://127.0.0.1:${s.port}`;
    let res = await fetch(`${base}/ready`);
    expect(res.status).toBe(503);
    ready = true;
    res = await fetch(`${base}/ready`);
    expect([res.status, await res.text()]).toEqual([200, 'LIVE\n']);
    res = await fetch(`${base}/config_dump`);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ version: 3 });
    expect(await (await fetch(`${base}/stats`)).text()).toBe('a.b: 1\n');
    expect(await (await fetch(`${base}/stats?format=json`)).json()).toEqual({ 'a.b': 1 });
    expect(await (await fetch(`${base}/clusters`)).text()).toContain('health_flags::healthy');
    expect(await (await fetch(`${base}/clusters?format=json`)).json()).toEqual({ clusters: [] });
    const index = await (await fetch(`${base}/`)).text();
    for (const p of ['/ready', '/config_dump', '/stats', '/clusters']) expect(index).toContain(p);
  });

  it('answers 404 for unknown paths, 405 for writes, 500 when a source throws', async () => {
    const s = await start({ statsText: () => { throw new Error('boom'); } });
    const base = `http://127.0.0.1:${s.port}`;
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/ready`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const res = await fetch(`${base}/stats`);
    expect([res.status, await res.text()]).toEqual([500, 'admin /stats failed: boom\n']);
  });

  it('reports a busy port by name', async () => {
    const a = await start({});
    const err = await start({}, a.port).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as Error).message).toBe(`admin port ${a.port} on 127.0.0.1 is already in use`);
  });
});
