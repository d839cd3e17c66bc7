// RequestAuthentication through a real ProxyServer over loopback: tokens signed by keys made in
// the test, the JWKS served by a real local HTTP server (fetched by the proxy), an upstream that
// records what it received.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS, type JwtRule } from '../../host/model/jwt-rules.js';
import { upstream, meshWith, useCleanup } from './traffic-helpers.js';
import { afterEach } from 'vitest';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { MeshConfig } from '../../host/model/mesh.js';

useCleanup();

const servers: ProxyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** A listener serving a workload's inbound side (where RequestAuthentication applies). */
async function proxy(m: MeshConfig): Promise<{ p: ProxyServer }> {
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, role: 'sidecar-inbound', limits: { drainTimeoutMs: 200 } });
  p.apply(m, 1);
  await p.listen();
  servers.push(p);
  return { p };
}

async function signer(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256' };
  const sign = (claims: Record<string, unknown> = {}, exp = Math.floor(Date.now() / 1000) + 600): Promise<string> =>
    new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer('https://issuer.test').setExpirationTime(exp).sign(privateKey);
  return { jwk, sign };
}

async function jwksServer(keys: unknown[]) {
  const state = { keys, hits: 0 };
  const server = createServer((_req, res) => {
    state.hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const rule = (jwksUri: string, over: Partial<JwtRule> = {}): JwtRule => ({
  source: 'default/jwt', issuer: 'https://issuer.test', audiences: [], jwksUri, jwks: null,
  fromHeaders: DEFAULT_JWT_HEADERS, fromParams: DEFAULT_JWT_PARAMS, fromCookies: [],
  outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 2000, ...over,
});

describe('RequestAuthentication through the proxy', () => {
  it('no token → 200 (no identity); valid → 200, token stripped, claim header; invalid → 401 Jwt verification fails; an unknown kid within the refetch window is refused without a fetch', async () => {
    const k1 = await signer('k1');
    const jwks = await jwksServer([k1.jwk]);
    const up = await upstream((req, res) => res.end('ok'));
    const m = meshWith([{ name: 'backend', ports: [up.port] }]);
    m.jwtRules = [rule(jwks.url, { outputClaimToHeaders: [{ header: 'x-user', claim: 'sub' }] })];
    const { p } = await proxy(m);

    expect((await request(p.port, { path: '/' })).status).toBe(200);
    const good = await request(p.port, { path: '/', headers: { authorization: `Bearer ${await k1.sign()}`, 'x-user': 'spoofed' } });
    expect(good.status).toBe(200);
    const seen = up.requests[up.requests.length - 1]!.headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen['x-user']).toBe('alice');

    const forged = (await k1.sign()).slice(0, -6) + 'AAAAAA';
    const bad = await request(p.port, { path: '/x?y=1', headers: { authorization: `Bearer ${forged}` } });
    expect(bad.status).toBe(401);
    expect(bad.body.toString()).toBe('Jwt verification fails');
    expect(bad.headers['www-authenticate']).toBe('Bearer realm="http://svc.test/x?y=1", error="invalid_token"');
    const expired = await request(p.port, { headers: { authorization: `Bearer ${await k1.sign({}, Math.floor(Date.now() / 1000) - 120)}` } });
    expect([expired.status, expired.body.toString()]).toEqual([401, 'Jwt is expired']);
    const requestsBefore = up.requests.length;

    // The issuer rotates to k2: the first k2 token finds no key, the proxy refetches and verifies.
    const k2 = await signer('k2');
    jwks.state.keys = [k2.jwk];
    const hits = jwks.state.hits;
    // The rate limit (30 s) counts from the start-up fetch; this proxy's set was fetched just now,
    // so the first unknown kid is refused, as a flood of forged kids would be...
    const early = await request(p.port, { headers: { authorization: `Bearer ${await k2.sign()}` } });
    expect(early.status).toBe(401);
    expect(jwks.state.hits).toBe(hits);
    expect(up.requests.length).toBe(requestsBefore);
    await jwks.close();
  });

  it('an unknown kid after the rate-limit window is refetched and verifies', async () => {
    const k1 = await signer('k1');
    const k2 = await signer('k2');
    const jwks = await jwksServer([k1.jwk]);
    const up = await upstream((_req, res) => res.end('ok'));
    const m = meshWith([{ name: 'backend', ports: [up.port] }]);
    m.jwtRules = [rule(jwks.url)];
    const { p } = await proxy(m);
    expect((await request(p.port, { headers: { authorization: `Bearer ${await k1.sign()}` } })).status).toBe(200);
    jwks.state.keys = [k1.jwk, k2.jwk];
    const realNow = Date.now;
    Date.now = () => realNow() + 31_000;
    try {
      expect((await request(p.port, { headers: { authorization: `Bearer ${await k2.sign({}, Math.floor(realNow() / 1000) + 600)}` } })).status).toBe(200);
    } finally {
      Date.now = realNow;
    }
    expect(jwks.state.hits).toBe(2);
    // The JWKS server goes away: the keys kept still verify.
    await jwks.close();
    expect((await request(p.port, { headers: { authorization: `Bearer ${await k1.sign({ n: 1 })}` } })).status).toBe(200);
  });
});
