import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { JwksRegistry, RemoteJwks } from '../../../host/http/filters/jwks-source.js';

async function jwksOf(kid: string): Promise<string> {
  const { publicKey } = await generateKeyPair('ES256');
  return JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] });
}

/** A JWKS server whose answer the test sets; counts requests. */
async function jwksServer(initial: string) {
  const state = { body: initial, status: 200, hits: 0 };
  const server: Server = createServer((_req, res) => {
    state.hits++;
    res.writeHead(state.status, { 'content-type': 'application/json' });
    res.end(state.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  return { state, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const kids = async (s: RemoteJwks): Promise<string[]> => {
  const get = (await s.ready())!;
  const out: string[] = [];
  for (const kid of ['k1', 'k2']) {
    try {
      await get({ alg: 'ES256', kid }, { payload: '', signature: '' } as never);
      out.push(kid);
    } catch {}
  }
  return out;
};

const sources: RemoteJwks[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
  vi.useRealTimers();
});

describe('RemoteJwks', () => {
  test('fetched at start; an unknown kid refetches once per rate-limit window', async () => {
    const srv = await jwksServer(await jwksOf('k1'));
    let now = 0;
    const s = new RemoteJwks(srv.url, { timeoutMs: 1000, now: () => now });
    sources.push(s);
    expect(await kids(s)).toEqual(['k1']);
    srv.state.body = await jwksOf('k2');
    // Within the window since the first fetch: no refetch.
    now = 1000;
    expect(await s.refetchForUnknownKey()).toBe(false);
    expect(srv.state.hits).toBe(1);
    now = 31_000;
    expect(await s.refetchForUnknownKey()).toBe(true);
    expect(await kids(s)).toEqual(['k2']);
    expect(await s.refetchForUnknownKey()).toBe(false);
    expect(srv.state.hits).toBe(2);
    await srv.close();
  });

  test('a server that is down, answers 500 or bad JSON keeps the last keys', async () => {
    const srv = await jwksServer(await jwksOf('k1'));
    let now = 0;
    const s = new RemoteJwks(srv.url, { timeoutMs: 1000, now: () => now, minRefetchMs: 10 });
    sources.push(s);
    expect(await kids(s)).toEqual(['k1']);
    srv.state.status = 500;
    now += 100;
    expect(await s.refetchForUnknownKey()).toBe(false);
    srv.state.status = 200;
    srv.state.body = '{"keys": 3';
    now += 100;
    expect(await s.refetchForUnknownKey()).toBe(false);
    await srv.close();
    now += 100;
    expect(await s.refetchForUnknownKey()).toBe(false);
    expect(s.failures).toBe(3);
    expect(await kids(s)).toEqual(['k1']);
  });

  test('no keys yet and the server is down: ready() gives null (tokens then fail)', async () => {
    const srv = await jwksServer('x');
    await srv.close();
    const s = new RemoteJwks(srv.url, { timeoutMs: 500 });
    sources.push(s);
    expect(await s.ready()).toBeNull();
  });

  test('a body over the limit is refused', async () => {
    const srv = await jwksServer(await jwksOf('k1'));
    const s = new RemoteJwks(srv.url, { timeoutMs: 1000, maxBytes: 50 });
    sources.push(s);
    expect(await s.ready()).toBeNull();
    expect(s.failures).toBe(1);
    await srv.close();
  });

  test('periodic refresh on the timer', async () => {
    const srv = await jwksServer(await jwksOf('k1'));
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s = new RemoteJwks(srv.url, { timeoutMs: 1000, refreshMs: 60_000 });
    sources.push(s);
    expect(await kids(s)).toEqual(['k1']);
    srv.state.body = await jwksOf('k2');
    vi.advanceTimersByTime(60_000);
    await vi.waitFor(() => expect(srv.state.hits).toBe(2));
    await vi.waitFor(async () => expect(await kids(s)).toEqual(['k2']));
    await srv.close();
  });

  test('the registry shares one source per URI across versions and closes it after its last user', async () => {
    const srv = await jwksServer(await jwksOf('k1'));
    const reg = new JwksRegistry();
    const rule = { jwks: null, jwksUri: srv.url, timeoutMs: 1000 };
    const a = reg.acquire(rule);
    const b = reg.acquire(rule);
    expect(a).toBe(b);
    await a.ready();
    reg.release(a);
    expect(reg.acquire(rule)).toBe(a);
    reg.release(a);
    reg.release(b);
    expect(reg.acquire(rule)).not.toBe(a);
    reg.close();
    await srv.close();
  });
});
