// The token a workload presents to the CA when Kubernetes is not there to project one: a compact
// JWS (ES256, Node's crypto) that the control plane signs for a namespace and service account,
// shaped like a projected service-account token (iss, aud ["istio-ca"], sub
// system:serviceaccount:<ns>:<sa>, iat, nbf, exp). Verification checks the signature first, then
// the claims, and names the part that failed.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { IdentityError } from './identity-error.js';

/** The audience Istio's agent asks tokens for (the CA's), as in Istio's default `istio-ca`. */
export const TOKEN_AUDIENCE = 'istio-ca';
/** Who signs the tokens: the control plane. */
export const TOKEN_ISSUER = 'wasmesh-control-plane';

/** The identity a verified token proves (its trust domain is the CA's). */
export interface TokenIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

export interface TokenClaims extends TokenIdentity {
  readonly ttlMs: number;
  readonly now?: Date;
  readonly audience?: readonly string[];
  readonly issuer?: string;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** RFC 7638 JWK thumbprint of an EC public key: the token's `kid`. */
export function keyId(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { crv: string; kty: string; x: string; y: string };
  // Members in lexicographic order, no whitespace, as RFC 7638 requires.
  return b64url(createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest());
}

/** Signs a token for `claims` with `key` (an EC P-256 private key). */
export function signToken(key: KeyObject, claims: TokenClaims): string {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('token key: ES256 needs an EC P-256 private key');
  const now = Math.floor((claims.now ?? new Date()).getTime() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', kid: keyId(key) };
  const payload = {
    iss: claims.issuer ?? TOKEN_ISSUER,
    aud: [...(claims.audience ?? [TOKEN_AUDIENCE])],
    sub: `system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`,
    'kubernetes.io': { namespace: claims.namespace, serviceaccount: { name: claims.serviceAccount } },
    iat: now,
    nbf: now,
    exp: now + Math.ceil(claims.ttlMs / 1000),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  // JWS ES256 signatures are r‖s (IEEE P1363), not DER.
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

export interface VerifyOptions {
  readonly now?: Date;
  readonly audience?: string;
  readonly issuer?: string;
}

const bad = (code: 'token_invalid' | 'token_signature' | 'token_expired' | 'token_audience' | 'token_issuer', why: string): never => {
  throw new IdentityError(code, `token refused: ${why}`);
};

function decodeJson(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) bad('token_invalid', `the ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    bad('token_invalid', `the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('token_invalid', `the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * Verifies `token` against the control plane's public keys (`keys`: current and any still
 * trusted) and returns the identity it proves. Throws IdentityError (token_invalid,
 * token_signature, token_expired, token_audience, token_issuer) with the failing part named.
 */
export function verifyToken(token: string, keys: readonly KeyObject[], opts: VerifyOptions = {}): TokenIdentity {
  const parts = token.trim().split('.');
  if (parts.length !== 3) bad('token_invalid', `a compact JWS has 3 dot-separated parts, this has ${parts.length}`);
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  if (header.alg !== 'ES256') bad('token_invalid', `header.alg is ${JSON.stringify(header.alg)}; only "ES256" is accepted`);
  // The claims are not read before the signature holds: nothing in an unverified token is trusted.
  let candidates = keys;
  if (typeof header.kid === 'string') {
    candidates = keys.filter((k) => keyId(k) === header.kid);
    if (candidates.length === 0) bad('token_signature', `header.kid "${header.kid}" is not a key of this control plane (signed by a foreign key)`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(s)) bad('token_invalid', 'the signature is not base64url');
  const signature = Buffer.from(s, 'base64url');
  const input = Buffer.from(`${h}.${p}`);
  const verified = candidates.some((k) => verify('sha256', input, { key: k, dsaEncoding: 'ieee-p1363' }, signature));
  if (!verified) bad('token_signature', 'the signature does not verify with the control plane\'s key');
  const payload = decodeJson(p, 'payload');
  const issuer = opts.issuer ?? TOKEN_ISSUER;
  if (payload.iss !== issuer) bad('token_issuer', `payload.iss is ${JSON.stringify(payload.iss)}, not "${issuer}"`);
  const audience = opts.audience ?? TOKEN_AUDIENCE;
  const aud = typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
  if (!Array.isArray(aud) || !aud.includes(audience)) bad('token_audience', `payload.aud ${JSON.stringify(payload.aud)} does not include "${audience}"`);
  const now = (opts.now ?? new Date()).getTime() / 1000;
  if (typeof payload.exp !== 'number') bad('token_invalid', 'payload.exp is missing: a token must expire');
  const exp = payload.exp as number;
  if (exp <= now) bad('token_expired', `payload.exp ${new Date(exp * 1000).toISOString()} is past (now ${new Date(now * 1000).toISOString()})`);
  if (typeof payload.nbf === 'number' && payload.nbf > now) bad('token_expired', `payload.nbf ${new Date(payload.nbf * 1000).toISOString()} is still ahead (now ${new Date(now * 1000).toISOString()})`);
  const m = typeof payload.sub === 'string' ? SUBJECT.exec(payload.sub) : null;
  if (!m) bad('token_invalid', `payload.sub ${JSON.stringify(payload.sub)} is not system:serviceaccount:<namespace>:<service-account>`);
  return { namespace: m![1]!, serviceAccount: m![2]! };
}
