// The policy mode's credentials, made fresh for each run: an RS256 key pair whose public half goes
// into the RequestAuthentication's inline JWKS, and a token for bench-issuer/bench-user signed
// with the private half, which every request of the load carries.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export interface PolicyCredentials {
  /** The JWKS document (JSON text) with the public key. */
  readonly jwks: string;
  /** `Authorization: Bearer <token>`, valid for a day. */
  readonly header: string;
}

export const BENCH_ISSUER = 'bench-issuer';
export const BENCH_SUBJECT = 'bench-user';

export async function policyCredentials(): Promise<PolicyCredentials> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const token = await new SignJWT({ role: 'user', groups: ['bench'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer(BENCH_ISSUER)
    .setSubject(BENCH_SUBJECT)
    .setIssuedAt()
    .setExpirationTime('1d')
    .sign(privateKey);
  return { jwks: JSON.stringify({ keys: [jwk] }), header: `Authorization: Bearer ${token}` };
}
