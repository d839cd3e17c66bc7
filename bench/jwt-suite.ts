// JWT verification per request (RequestAuthentication), measured as the filter meets it: jose's
// jwtVerify against a key set already fetched (RS256 and ES256: a token the filter has not seen,
// a signature check each time), and the filter's path for a token it verified before (its
// token cache: one map lookup, requestAuth set, the header removed). jose verifies
// asynchronously, so this suite times its own loops (median of rounds) instead of Benchmark.js.
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { JwtAuthn } from '../host/http/filters/jwt-authn.js';
import { InlineJwks } from '../host/http/filters/jwks-source.js';
import { FilterStatus } from '../host/http/filter.js';
import { DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS } from '../host/model/jwt-rules.js';
import type { StreamCallbacks } from '../host/http/stream-callbacks.js';
import { sink } from './runner.js';

export interface JwtFigure {
  name: string;
  opsPerSec: number;
}

async function rate(iterations: number, rounds: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    rates.push(iterations / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/**
 * A minimal stream for the filter: the bearer header, what the filter writes recorded nowhere.
 * `fresh` makes the header value a new string on each read, cut from bytes as the listener cuts
 * it (a string seen before carries its hash already, which would flatter a lookup by the token).
 */
function streamWith(auth: string, fresh = false): StreamCallbacks {
  const headers: Array<[string, string]> = [['authorization', auth]];
  const raw = Buffer.from(auth, 'latin1');
  return {
    downstream: { method: 'GET', path: '/', authority: 'svc' },
    requestAuth: null,
    requestHeader: (n: string) => (fresh && n === 'authorization' ? raw.toString('latin1') : headers.find((h) => h[0] === n)?.[1] ?? null),
    setRequestHeader: () => {},
    removeRequestHeader: () => {},
    sendLocalReply: () => {
      throw new Error('bench: the token was refused');
    },
    continueDecoding: () => {},
  } as unknown as StreamCallbacks;
}

export async function jwtFigures(quick: boolean): Promise<JwtFigure[]> {
  const n = quick ? 50 : 2000;
  const rounds = quick ? 1 : 5;
  const out: JwtFigure[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg }] };
    const keys = createLocalJWKSet(jwks);
    const token = await new SignJWT({ sub: 'alice', aud: 'api' }).setProtectedHeader({ alg, kid: 'k' }).setIssuer('https://issuer.test').setExpirationTime('1h').sign(privateKey);
    await jwtVerify(token, keys, { issuer: 'https://issuer.test' }); // the key set imports its key once
    out.push({ name: `jose jwtVerify ${alg}, key cached (uncached token)`, opsPerSec: await rate(n, rounds, async () => { sink.value += (await jwtVerify(token, keys, { issuer: 'https://issuer.test', audience: 'api' })).payload.sub!.length; }) });
    const filter = new JwtAuthn([{ rule: { source: 'b/b', issuer: 'https://issuer.test', audiences: ['api'], jwksUri: null, jwks: JSON.stringify(jwks), fromHeaders: DEFAULT_JWT_HEADERS, fromParams: DEFAULT_JWT_PARAMS, fromCookies: [], outputPayloadToHeader: null, outputClaimToHeaders: [], forwardOriginalToken: false, timeoutMs: 5000 }, keys: new InlineJwks(JSON.stringify(jwks)) }]);
    const auth = `Bearer ${token}`;
    // The first request verifies (async) and fills the token cache.
    const first = streamWith(auth);
    if (filter.onRequestHeaders(first) === FilterStatus.StopIteration) for (let i = 0; i < 1000 && first.requestAuth === null; i++) await new Promise((r) => setTimeout(r, 1));
    if (first.requestAuth === null) throw new Error('bench: the first verification did not complete');
    const s = streamWith(auth, true);
    out.push({ name: `jwt-authn filter ${alg}, token seen before (cache hit; header value a new string each request)`, opsPerSec: await rate(n * 50, rounds, () => {
      s.requestAuth = null;
      if (filter.onRequestHeaders(s) !== FilterStatus.Continue) throw new Error('bench: cache miss');
      sink.value += s.requestAuth!.principal.length;
    }) });
  }
  return out;
}

export function formatJwtFigures(figures: readonly JwtFigure[]): string {
  const lines = ['## JWT verification per request (RequestAuthentication)', 'ops/s, median of rounds (jose verifies asynchronously: timed loops, not Benchmark.js)'];
  for (const f of figures) lines.push(`  ${f.name.padEnd(84)} ${Math.round(f.opsPerSec).toLocaleString('en-US').padStart(12)}`);
  return lines.join('\n') + '\n';
}
