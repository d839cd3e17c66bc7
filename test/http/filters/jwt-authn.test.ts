import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { JwtAuthn } from '../../../host/http/filters/jwt-authn.js';
import { InlineJwks } from '../../../host/http/filters/jwks-source.js';
import { FilterStatus } from '../../../host/http/filter.js';
import { DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS, type JwtRule } from '../../../host/model/jwt-rules.js';
import { fakeStream, type FakeRequest } from '../../helpers/fake-stream.js';

const NOW = 1_800_000_000_000;
let priv: CryptoKey;
let jwks: string;
let rsaJwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  priv = pair.privateKey;
  rsaJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
  jwks = JSON.stringify({ keys: [rsaJwk] });
});

function rule(over: Partial<JwtRule> = {}): JwtRule {
  return {
    source: 'default/jwt', issuer: 'https://iss.example', audiences: [], jwksUri: null, jwks,
    fromHeaders: DEFAULT_JWT_HEADERS, fromParams: DEFAULT_JWT_PARAMS, fromCookies: [],
    outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 5000,
    ...over,
  };
}

function filter(...rules: JwtRule[]): JwtAuthn {
  return new JwtAuthn(rules.map((r) => ({ rule: r, keys: new InlineJwks(r.jwks!) })), { now: () => NOW });
}

async function token(claims: Record<string, unknown> = {}, opts: { iss?: string; exp?: number; nbf?: number; kid?: string } = {}): Promise<string> {
  const t = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' }).setIssuer(opts.iss ?? 'https://iss.example').setIssuedAt(NOW / 1000);
  t.setExpirationTime(opts.exp ?? NOW / 1000 + 3600);
  if (opts.nbf !== undefined) t.setNotBefore(opts.nbf);
  return t.sign(priv);
}

/** Runs the filter on a request; resolves once it continued or answered. */
async function run(f: JwtAuthn, req: FakeRequest) {
  const s = fakeStream(req);
  const status = f.onRequestHeaders(s);
  if (status === FilterStatus.StopIteration) {
    for (let i = 0; i < 200 && s.resumed === 0 && s.replies.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  }
  return { s, status, passed: s.replies.length === 0 && (status === FilterStatus.Continue || s.resumed === 1) };
}

const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

describe('jwt-authn filter', () => {
  test('no token: passes, requestAuth stays null, synchronously', async () => {
    const r = await run(filter(rule()), { headers: {} });
    expect(r.status).toBe(FilterStatus.Continue);
    expect(r.s.requestAuth).toBeNull();
  });

  test('a valid bearer token: requestAuth set (iss/sub, aud, azp, claims), token header removed (forward false)', async () => {
    const r = await run(filter(rule()), bearer(await token({ aud: ['a', 'b'], azp: 'cli', group: { name: 'x' } })));
    expect(r.passed).toBe(true);
    expect(r.s.requestAuth).toMatchObject({ principal: 'https://iss.example/alice', audiences: ['a', 'b'], presenter: 'cli', claims: { group: { name: 'x' } } });
    expect(r.s.requestHeader('authorization')).toBeNull();
  });

  test('forwardOriginalToken keeps the header; outputs: payload (base64url segment) and claims, spoofed values replaced', async () => {
    const t = await token({ tier: 'gold', n: 3, nested: { k: 'v' } });
    const f = filter(rule({ forwardOriginalToken: true, outputPayloadToHeader: 'x-payload', outputClaimToHeaders: [{ header: 'x-tier', claim: 'tier' }, { header: 'x-n', claim: 'n' }, { header: 'x-k', claim: 'nested.k' }] }));
    const r = await run(f, { headers: { authorization: `Bearer ${t}`, 'x-tier': 'spoofed', 'x-payload': 'spoofed' } });
    expect(r.passed).toBe(true);
    expect(r.s.requestHeader('authorization')).toBe(`Bearer ${t}`);
    expect(r.s.requestHeader('x-payload')).toBe(t.split('.')[1]);
    expect([r.s.requestHeader('x-tier'), r.s.requestHeader('x-n'), r.s.requestHeader('x-k')]).toEqual(['gold', '3', 'v']);
    // Without a token the client's own output headers are removed (Envoy sanitizes them).
    const none = await run(f, { headers: { 'x-tier': 'spoofed' } });
    expect(none.s.requestHeader('x-tier')).toBeNull();
  });

  test('locations: access_token param, custom header with prefix, cookie; a wrong prefix is no token', async () => {
    const t = await token();
    expect((await run(filter(rule()), { path: `/p?a=1&access_token=${t}` })).s.requestAuth?.principal).toBe('https://iss.example/alice');
    const custom = filter(rule({ fromHeaders: [{ name: 'x-jwt', prefix: 'Tok ' }], fromParams: [], fromCookies: ['session'] }));
    expect((await run(custom, { headers: { 'x-jwt': `Tok ${t}` } })).s.requestAuth).not.toBeNull();
    expect((await run(custom, { headers: { cookie: `a=b; session=${t}` } })).s.requestAuth).not.toBeNull();
    const wrongPrefix = await run(custom, { headers: { 'x-jwt': `Bearer ${t}` } });
    expect(wrongPrefix.status).toBe(FilterStatus.Continue);
    expect(wrongPrefix.s.requestAuth).toBeNull();
    // Envoy's extraction: the prefix is case-sensitive; the token ends at the first non-base64url character.
    const lower = await run(filter(rule()), { headers: { authorization: `bearer ${t}` } });
    expect([lower.status, lower.s.requestAuth]).toEqual([FilterStatus.Continue, null]);
    expect((await run(filter(rule()), { headers: { authorization: `Bearer ${t}, other` } })).s.requestAuth).not.toBeNull();
    // The default location ignores the query when the rule names only a header.
    expect((await run(custom, { path: `/?access_token=${t}` })).s.requestAuth).toBeNull();
  });

  test("invalid tokens: 401 with Envoy's text and www-authenticate; audiences 403", async () => {
    const cases: Array<[string, string, string]> = [
      [await token({}, { exp: NOW / 1000 - 61 }), '401 Unauthorized', 'Jwt is expired'],
      [await token({}, { nbf: NOW / 1000 + 61 }), '401 Unauthorized', 'Jwt not yet valid'],
      [await token({}, { iss: 'https://other.example' }), '401 Unauthorized', 'Jwt issuer is not configured'],
      [`${(await token()).slice(0, -4)}AAAA`, '401 Unauthorized', 'Jwt verification fails'],
      ['not-a-jwt', '401 Unauthorized', 'Jwt is not in the form of Header.Payload.Signature'],
      [await token({ aud: 'x' }), '403 Forbidden', 'Audiences in Jwt are not allowed'],
    ];
    for (const [t, status, body] of cases) {
      const f = filter(rule(body.startsWith('Audiences') ? { audiences: ['api'] } : {}));
      const r = await run(f, { path: '/a?b', headers: { host: 'svc.test', authorization: `Bearer ${t}` } });
      expect(r.s.replies, body).toEqual([{ status, headers: [['www-authenticate', 'Bearer realm="http://svc.test/a?b", error="invalid_token"']], body }]);
    }
  });

  test('clock skew: 60 s by default (expired 59 s ago still passes, nbf 59 s ahead passes)', async () => {
    expect((await run(filter(rule()), bearer(await token({}, { exp: NOW / 1000 - 59 })))).passed).toBe(true);
    expect((await run(filter(rule()), bearer(await token({}, { nbf: NOW / 1000 + 59 })))).passed).toBe(true);
    const strict = new JwtAuthn([{ rule: rule(), keys: new InlineJwks(jwks) }], { now: () => NOW, clockSkewS: 0 });
    expect((await run(strict, bearer(await token({}, { exp: NOW / 1000 - 1 })))).s.replies[0]?.body).toBe('Jwt is expired');
  });

  test('alg none and HS256 signed with the RSA public key as HMAC secret are rejected', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const payload = b64({ iss: 'https://iss.example', sub: 'mallory', exp: NOW / 1000 + 3600 });
    const none = `${b64({ alg: 'none', kid: 'k1' })}.${payload}.`;
    expect((await run(filter(rule()), bearer(none))).s.replies[0]?.status).toBe('401 Unauthorized');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaPem = publicKey.export({ type: 'spki', format: 'pem' });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1' };
    const head = b64({ alg: 'HS256', kid: 'k1' });
    const forged = `${head}.${payload}.${createHmac('sha256', rsaPem).update(`${head}.${payload}`).digest('base64url')}`;
    const r = await run(filter(rule({ jwks: JSON.stringify({ keys: [jwk] }) })), bearer(forged));
    expect(r.s.replies[0]?.status).toBe('401 Unauthorized');
    expect(r.s.requestAuth).toBeNull();
  });

  test('several rules: a token verifies with the rule of its issuer; the cache answers the second request synchronously', async () => {
    const other = await generateKeyPair('ES256');
    const otherJwks = JSON.stringify({ keys: [{ ...(await exportJWK(other.publicKey)), kid: 'e1', alg: 'ES256' }] });
    const f = filter(rule({ issuer: 'https://b.example', jwks: otherJwks }), rule());
    const t = await token();
    const first = await run(f, bearer(t));
    expect(first.status).toBe(FilterStatus.StopIteration);
    expect(first.passed).toBe(true);
    const second = await run(f, bearer(t));
    expect(second.status).toBe(FilterStatus.Continue);
    expect(second.s.requestAuth?.principal).toBe('https://iss.example/alice');
    const tb = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).setIssuer('https://b.example').setExpirationTime(NOW / 1000 + 60).sign(other.privateKey);
    expect((await run(f, bearer(tb))).s.requestAuth?.principal).toBe('https://b.example/bob');
  });

  test('a CORS preflight passes without a token check (bypass_cors_preflight)', async () => {
    const r = await run(filter(rule()), { method: 'OPTIONS', headers: { origin: 'https://x', 'access-control-request-method': 'GET', authorization: 'Bearer junk' } });
    expect(r.status).toBe(FilterStatus.Continue);
  });
});

describe('jwt-authn verified-token cache', () => {
  /** A filter whose clock the test moves, counting cache hits and misses. */
  function clocked(rules: JwtRule[], cacheSize?: number) {
    const clock = { now: NOW };
    const counts = new Map<string, number>();
    const stats = { inc: (n: string) => counts.set(n, (counts.get(n) ?? 0) + 1) } as never;
    const f = new JwtAuthn(rules.map((r) => ({ rule: r, keys: new InlineJwks(r.jwks!) })), { now: () => clock.now, stats, ...(cacheSize !== undefined ? { cacheSize } : {}) });
    return { f, clock, hits: () => counts.get('jwt_authn.jwt_cache_hit') ?? 0, misses: () => counts.get('jwt_authn.jwt_cache_miss') ?? 0 };
  }

  test('a cached token is refused once past exp + skew, and again before nbf − skew when the clock goes back', async () => {
    const c = clocked([rule()]);
    const t = await token({}, { exp: NOW / 1000 + 10, nbf: NOW / 1000 - 10 });
    expect((await run(c.f, bearer(t))).passed).toBe(true);
    c.clock.now = NOW + 5_000;
    const hit = await run(c.f, bearer(t));
    expect([hit.status, hit.passed, c.hits()]).toEqual([FilterStatus.Continue, true, 1]);
    // exp + 60 s skew still passes from the cache; one millisecond later it is expired.
    c.clock.now = NOW + 69_999;
    expect((await run(c.f, bearer(t))).passed).toBe(true);
    c.clock.now = NOW + 70_000;
    expect((await run(c.f, bearer(t))).s.replies[0]?.body).toBe('Jwt is expired');
    // A clock set back before nbf − skew: the cached verdict no longer holds.
    const c2 = clocked([rule()]);
    expect((await run(c2.f, bearer(t))).passed).toBe(true);
    c2.clock.now = NOW - 71_000;
    expect((await run(c2.f, bearer(t))).s.replies[0]?.body).toBe('Jwt not yet valid');
    expect(c2.hits()).toBe(0);
  });

  test('a token verified by one rule is no hit when found only in another rule\'s location', async () => {
    const a = rule({ fromHeaders: [{ name: 'x-a', prefix: '' }], fromParams: [], issuer: 'https://a.example' });
    const b = rule({ fromHeaders: [{ name: 'x-b', prefix: '' }], fromParams: [] });
    const c = clocked([a, b]);
    const t = await token(); // issuer https://iss.example: rule b's
    expect((await run(c.f, { headers: { 'x-b': t } })).passed).toBe(true);
    const wrong = await run(c.f, { headers: { 'x-a': t } });
    expect(wrong.s.replies[0]?.body).toBe('Jwt issuer is not configured');
    expect(c.hits()).toBe(0);
    expect((await run(c.f, { headers: { 'x-b': t } })).status).toBe(FilterStatus.Continue);
    expect(c.hits()).toBe(1);
  });

  test('an entry answers only for the very text verified: a forged payload with a copied signature is refused; text around the token still finds it', async () => {
    const c = clocked([rule()]);
    const t = await token({ role: 'user' });
    expect((await run(c.f, bearer(t))).passed).toBe(true);
    const [h, , sig] = t.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: 'https://iss.example', sub: 'admin', exp: NOW / 1000 + 3600 })).toString('base64url')}.${sig}`;
    const r = await run(c.f, bearer(forged));
    expect([r.s.replies[0]?.body, r.s.requestAuth, c.hits()]).toEqual(['Jwt verification fails', null, 0]);
    // The token followed by other text (Envoy's scan cuts it out) and preceded by spaces: hits.
    for (const value of [`Bearer ${t}, other`, `Bearer   ${t}`, `x Bearer ${t}`]) {
      const hit = await run(c.f, { headers: { authorization: value } });
      expect([value, hit.status, hit.s.requestAuth?.principal]).toEqual([value, FilterStatus.Continue, 'https://iss.example/alice']);
    }
    expect(c.hits()).toBe(3);
    // A prefix-less header takes the value whole: the token with one more character is another text.
    const raw = clocked([rule({ fromHeaders: [{ name: 'x-jwt', prefix: '' }], fromParams: [] })]);
    expect((await run(raw.f, { headers: { 'x-jwt': t } })).passed).toBe(true);
    expect((await run(raw.f, { headers: { 'x-jwt': t } })).status).toBe(FilterStatus.Continue);
    expect((await run(raw.f, { headers: { 'x-jwt': `${t}A` } })).s.replies[0]?.status).toBe('401 Unauthorized');
  });

  test('bounded: 100 tokens per rule by default; the least recently used is evicted', async () => {
    const c = clocked([rule()], 4);
    const ts = await Promise.all([0, 1, 2, 3, 4].map((i) => token({ n: i })));
    for (const t of ts.slice(0, 4)) expect((await run(c.f, bearer(t))).passed).toBe(true);
    expect(c.misses()).toBe(4);
    // ts[0] is used again (the oldest: it moves to the back), then ts[4] evicts the oldest, ts[1].
    expect((await run(c.f, bearer(ts[0]!))).status).toBe(FilterStatus.Continue);
    expect((await run(c.f, bearer(ts[4]!))).status).toBe(FilterStatus.StopIteration);
    expect((await run(c.f, bearer(ts[0]!))).status).toBe(FilterStatus.Continue);
    expect((await run(c.f, bearer(ts[1]!))).status).toBe(FilterStatus.StopIteration);
    expect(c.misses()).toBe(6);
    // The default bound: 100 per rule.
    const d = clocked([rule(), rule({ issuer: 'https://b.example' })]);
    const many = await Promise.all(Array.from({ length: 201 }, (_, i) => token({ n: i })));
    for (const t of many) await run(d.f, bearer(t));
    expect((await run(d.f, bearer(many[200]!))).status).toBe(FilterStatus.Continue);
    expect((await run(d.f, bearer(many[1]!))).status).toBe(FilterStatus.Continue);
    expect((await run(d.f, bearer(many[0]!))).status).toBe(FilterStatus.StopIteration);
  });
});

describe('jwt-authn stats and the version seam', () => {
  test('jwt_authn.* counters: allowed (with and without a token), denied, cache hit and miss, preflight', async () => {
    const counts = new Map<string, number>();
    const stats = { inc: (n: string) => counts.set(n, (counts.get(n) ?? 0) + 1) } as never;
    const f = new JwtAuthn([{ rule: rule(), keys: new InlineJwks(jwks) }], { now: () => NOW, stats });
    const t = await token();
    await run(f, {});
    await run(f, bearer(t));
    await run(f, bearer(t));
    await run(f, bearer('junk'));
    await run(f, { method: 'OPTIONS', headers: { origin: 'o', 'access-control-request-method': 'GET' } });
    expect(Object.fromEntries(counts)).toEqual({ 'jwt_authn.allowed': 3, 'jwt_authn.jwt_cache_miss': 2, 'jwt_authn.jwt_cache_hit': 1, 'jwt_authn.denied': 1, 'jwt_authn.cors_preflight_bypassed': 1 });
  });

  test('a bad inline JWKS refuses the version and lets go of the remote sources taken before it', async () => {
    const { JwksRegistry } = await import('../../../host/http/filters/jwks-source.js');
    const { jwtAuthnFilter } = await import('../../../host/http/filters/jwt-authn.js');
    const reg = new JwksRegistry();
    const remote = rule({ jwks: null, jwksUri: 'http://127.0.0.1:9/jwks', timeoutMs: 100 });
    expect(() => jwtAuthnFilter([remote, rule({ jwks: '{"keys": 1}' })], reg)).toThrow(/keys/);
    // Had the failed version kept its source, releasing this one user would not close it.
    const a = reg.acquire(remote);
    reg.release(a);
    const b = reg.acquire(remote);
    expect(b).not.toBe(a);
    const { dispose } = jwtAuthnFilter([remote], reg);
    dispose();
    expect(reg.acquire(remote)).toBe(b);
    reg.close();
  });
});
