// Workload tokens: signed and verified round trip, persisted key, and each failure (expired, not
// yet valid, wrong audience, wrong issuer, bad signature, foreign key, malformed) with its reason.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../../host/identity/identity-error.js';
import { openTokenKey, TOKEN_KEY_FILE } from '../../host/identity/token-key.js';
import { keyId, signToken, verifyToken } from '../../host/identity/workload-token.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'wasmesh-token-'));
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

function refusal(f: () => unknown): IdentityError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(IdentityError);
    return err as IdentityError;
  }
  throw new Error('accepted');
}

describe('workload tokens', () => {
  it('a token signed for ns/sa verifies to that identity; it reads like a projected service-account token', () => {
    const key = ec();
    const token = signToken(key, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 });
    expect(verifyToken(token, [key])).toEqual({ namespace: 'shop', serviceAccount: 'cart' });
    const [h, p] = token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT', kid: keyId(key) });
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(payload).toMatchObject({ iss: 'wasmesh-control-plane', aud: ['istio-ca'], sub: 'system:serviceaccount:shop:cart', 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'cart' } } });
    expect(payload.exp - payload.iat).toBe(60);
  });

  it('refuses an expired token, one not yet valid, a wrong audience or issuer, each naming the claim', () => {
    const key = ec();
    const t0 = new Date('2026-12-01T00:00:00Z');
    const token = signToken(key, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 10_000, now: t0 });
    expect(verifyToken(token, [key], { now: new Date(t0.getTime() + 9_000) }).serviceAccount).toBe('cart');
    let e = refusal(() => verifyToken(token, [key], { now: new Date(t0.getTime() + 10_000) }));
    expect([e.code, e.message]).toEqual(['token_expired', 'token refused: payload.exp 2026-12-01T00:00:10.000Z is past (now 2026-12-01T00:00:10.000Z)']);
    e = refusal(() => verifyToken(token, [key], { now: new Date(t0.getTime() - 5_000) }));
    expect(e.code).toBe('token_expired');
    expect(e.message).toMatch(/payload.nbf .* is still ahead/);
    e = refusal(() => verifyToken(signToken(key, { namespace: 'a', serviceAccount: 'b', ttlMs: 10_000, audience: ['kubernetes'] }), [key]));
    expect([e.code, e.message]).toEqual(['token_audience', 'token refused: payload.aud ["kubernetes"] does not include "istio-ca"']);
    e = refusal(() => verifyToken(signToken(key, { namespace: 'a', serviceAccount: 'b', ttlMs: 10_000, issuer: 'someone-else' }), [key]));
    expect([e.code, e.message]).toEqual(['token_issuer', 'token refused: payload.iss is "someone-else", not "wasmesh-control-plane"']);
  });

  it('refuses a bad signature, a foreign key (with its own kid or ours), and a changed payload', () => {
    const key = ec();
    const foreign = ec();
    const token = signToken(key, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 10_000 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[5] ^= 0xff;
    let e = refusal(() => verifyToken(`${h}.${p}.${sig.toString('base64url')}`, [key]));
    expect([e.code, e.message]).toEqual(['token_signature', 'token refused: the signature does not verify with the control plane\'s key']);
    e = refusal(() => verifyToken(signToken(foreign, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 10_000 }), [key]));
    expect(e.code).toBe('token_signature');
    expect(e.message).toMatch(/header.kid ".+" is not a key of this control plane \(signed by a foreign key\)/);
    // A foreign signer that copies our kid gets no further.
    const forged = signToken(foreign, { namespace: 'shop', serviceAccount: 'admin', ttlMs: 10_000 }).split('.');
    e = refusal(() => verifyToken(`${h}.${forged[1]}.${forged[2]}`, [key]));
    expect(e.code).toBe('token_signature');
    // Our signature over another payload: refused too (admin instead of cart).
    e = refusal(() => verifyToken(`${h}.${forged[1]}.${s}`, [key]));
    expect(e.code).toBe('token_signature');
    // The old key still trusted after a key change: either verifies.
    expect(verifyToken(token, [foreign, key]).serviceAccount).toBe('cart');
  });

  it('refuses malformed tokens saying which part', () => {
    const key = ec();
    const good = signToken(key, { namespace: 'shop', serviceAccount: 'cart', ttlMs: 10_000 });
    const [, p, s] = good.split('.') as [string, string, string];
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(refusal(() => verifyToken('abc', [key])).message).toMatch(/3 dot-separated parts, this has 1/);
    expect(refusal(() => verifyToken(`${enc({ alg: 'none' })}.${p}.`, [key])).message).toMatch(/header.alg is "none"; only "ES256"/);
    expect(refusal(() => verifyToken(`${enc({ alg: 'HS256' })}.${p}.${s}`, [key])).message).toMatch(/header.alg is "HS256"/);
    expect(refusal(() => verifyToken(`!!.${p}.${s}`, [key])).message).toMatch(/header is not base64url/);
    expect(refusal(() => verifyToken(`${Buffer.from('nope').toString('base64url')}.${p}.${s}`, [key])).message).toMatch(/header is not JSON/);
    // A properly signed token without exp, or with a sub that is no service account.
    const raw = (payload: object): string => {
      const input = `${enc({ alg: 'ES256', kid: keyId(key) })}.${enc(payload)}`;
      return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    expect(refusal(() => verifyToken(raw({ iss: 'wasmesh-control-plane', aud: 'istio-ca', sub: 'system:serviceaccount:a:b' }), [key])).message).toMatch(/payload.exp is missing/);
    expect(refusal(() => verifyToken(raw({ iss: 'wasmesh-control-plane', aud: 'istio-ca', exp: 4e9, sub: 'alice' }), [key])).message).toMatch(/payload.sub "alice" is not system:serviceaccount/);
    expect(verifyToken(raw({ iss: 'wasmesh-control-plane', aud: 'istio-ca', exp: 4e9, sub: 'system:serviceaccount:a:b' }), [key])).toEqual({ namespace: 'a', serviceAccount: 'b' });
  });

  it('the signing key is generated once in the CA dir (0600) and read back after', () => {
    const dir = tempDir();
    const first = openTokenKey(dir);
    expect(statSync(join(dir, TOKEN_KEY_FILE)).mode & 0o777).toBe(0o600);
    const second = openTokenKey(dir);
    expect(keyId(second)).toBe(keyId(first));
    expect(verifyToken(signToken(first, { namespace: 'a', serviceAccount: 'b', ttlMs: 5_000 }), [second]).namespace).toBe('a');
  });
});
