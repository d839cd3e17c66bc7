// JWT claim routing (Istio's `@request.auth.claims.<name>` VirtualService header matches) through
// a real ProxyServer over loopback: the JWT filter verifies the token before routing, and the
// route match sees its claims (string, list element, nested, withoutHeaders), never a client's
// header and never without a verified token; nothing of the claims reaches the upstream.
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS, type JwtRule } from '../../host/model/jwt-rules.js';
import { upstream, useCleanup } from './traffic-helpers.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import type { HeaderMatch, MeshConfig, RouteMatch } from '../../host/model/mesh.js';

useCleanup();

const servers: ProxyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

let jwks = '';
let sign: (claims: Record<string, unknown>) => Promise<string>;
beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] });
  sign = (claims) =>
    new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setIssuer('https://issuer.test').setExpirationTime('10m').sign(privateKey);
});

const rule = (): JwtRule => ({
  source: 'default/jwt', issuer: 'https://issuer.test', audiences: [], jwksUri: null, jwks,
  fromHeaders: DEFAULT_JWT_HEADERS, fromParams: DEFAULT_JWT_PARAMS, fromCookies: [],
  outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 2000,
});

const claim = (path: string[], value: string, kind: 'exact' | 'prefix' | 'regex' = 'exact', invert = false): HeaderMatch =>
  ({ name: `@request.auth.claims.${path.join('.')}`, match: { kind, value }, invert, claim: path });
const when = (...headers: HeaderMatch[]): RouteMatch => ({ uri: null, ignoreUriCase: false, headers });

/** Routes in order: each to its own upstream answering its name; the last one catches all. */
async function claimProxy(routes: Array<{ name: string; match: RouteMatch | null }>): Promise<ProxyServer> {
  const ups = await Promise.all(routes.map((r) => upstream((req, res) => res.end(`${r.name} ${JSON.stringify(Object.keys(req.headers).filter((h) => h.includes('claim')))}`))));
  const m: MeshConfig = mesh(
    routes.map((r, i) => ({ name: r.name, ports: [ups[i]!.port] })),
    routes.map((r) => ({ name: r.name, dests: [{ cluster: r.name }] })),
  );
  m.virtualHosts[0]!.routes.forEach((route, i) => (route.matches = routes[i]!.match === null ? [] : [routes[i]!.match!]));
  m.jwtRules = [rule()];
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, role: 'sidecar-inbound', limits: { drainTimeoutMs: 200 } });
  p.apply(m, 1);
  await p.listen();
  servers.push(p);
  return p;
}

async function routed(p: ProxyServer, claims: Record<string, unknown> | null, headers: Record<string, string> = {}): Promise<string> {
  const auth: Record<string, string> = claims === null ? {} : { authorization: `Bearer ${await sign(claims)}` };
  const res = await request(p.port, { path: '/', headers: { ...auth, ...headers } });
  expect(res.status).toBe(200);
  return res.body.toString();
}

describe('JWT claim routing through the proxy', () => {
  it('a string claim, one element of a list claim; no token, another value or a non-string claim: the next route; nothing forwarded', async () => {
    const p = await claimProxy([
      { name: 'group1', match: when(claim(['groups'], 'group1')) },
      { name: 'rest', match: null },
    ]);
    expect(await routed(p, { groups: 'group1' })).toBe('group1 []');
    expect(await routed(p, { groups: ['x', 'group1'] })).toBe('group1 []');
    expect(await routed(p, { groups: ['x', 'group2'] })).toBe('rest []');
    expect(await routed(p, { groups: 1 })).toBe('rest []');
    expect(await routed(p, { groups: { group1: 'group1' } })).toBe('rest []');
    expect(await routed(p, null)).toBe('rest []');
    // A client cannot pose as a claim: '@' starts no header name the codec accepts, and a
    // header named like a claim's JSON key is a header, not the claim.
    expect(await routed(p, null, { groups: 'group1' })).toBe('rest []');
  });

  it('nested claims (prefix, regex), case-sensitive claim names, non-ASCII values, and withoutHeaders', async () => {
    const p = await claimProxy([
      { name: 'team', match: when(claim(['team', 'Name'], 'alp', 'prefix'), claim(['tier'], 'blocked', 'exact', true)) },
      { name: 'utf8', match: when(claim(['city'], 'Zürich')) },
      { name: 'regex', match: when(claim(['email'], '.*@example\\.com', 'regex')) },
      { name: 'rest', match: null },
    ]);
    expect(await routed(p, { team: { Name: 'alpha' } })).toBe('team []');
    expect(await routed(p, { team: { name: 'alpha' } })).toBe('rest []');
    expect(await routed(p, { team: { Name: 'alpha' }, tier: 'blocked' })).toBe('rest []');
    expect(await routed(p, { team: { Name: 'alpha' }, tier: ['gold', 'blocked'] })).toBe('rest []');
    expect(await routed(p, { team: { Name: 'alpha' }, tier: 'gold' })).toBe('team []');
    expect(await routed(p, { city: 'Zürich' })).toBe('utf8 []');
    expect(await routed(p, { email: 'bob@example.com' })).toBe('regex []');
    expect(await routed(p, { email: 'bob@example.org' })).toBe('rest []');
  });

  it('an inverted claim condition holds without a token (as Envoy’s inverted metadata matcher on absent metadata)', async () => {
    const p = await claimProxy([
      { name: 'not-admin', match: when(claim(['role'], 'admin', 'exact', true)) },
      { name: 'rest', match: null },
    ]);
    expect(await routed(p, null)).toBe('not-admin []');
    expect(await routed(p, { role: 'user' })).toBe('not-admin []');
    expect(await routed(p, { role: 'admin' })).toBe('rest []');
  });

  it('claims that overflow the request view: 431, never a route that a missing claim would open', async () => {
    const p = await claimProxy([
      { name: 'not-admin', match: when(claim(['roles'], 'admin', 'exact', true)) },
      { name: 'rest', match: null },
    ]);
    const roles = [...Array.from({ length: 200 }, (_, i) => `r${i}`), 'admin'];
    const res = await request(p.port, { path: '/', headers: { authorization: `Bearer ${await sign({ roles })}` } });
    expect(res.status).toBe(431);
  });
});
