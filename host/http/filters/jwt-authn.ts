// RequestAuthentication on the data path: Envoy's jwt_authn filter as Istio configures it (one
// provider per jwtRule, requires_any [every provider, allow_missing], bypass_cors_preflight).
// A request without a token in any rule's locations passes with stream.requestAuth null (an
// AuthorizationPolicy with requestPrincipals then denies it); a token that no rule verifies is
// answered 401 with Envoy's status text as body and `www-authenticate: Bearer realm="<uri>",
// error="invalid_token"` (403 for a token whose audiences are not allowed, as Envoy). A token
// whose issuer no rule names is invalid ("Jwt issuer is not configured").
//
// Verification is jose's (jwtVerify against the rule's key set): the algorithm must be one the
// chosen key is for (jose picks keys by kid, alg and kty), so `alg: none` and an HS256 token
// signed with an RSA public key as HMAC secret find no key; exp and nbf with a clock skew (60 s,
// Envoy's default clock_skew_seconds). Verified tokens are cached by their text, with the
// provider that verified them, inside their exp/nbf window (bounded LRU, like Envoy's
// jwt_cache: 100 per provider), so a client reusing its token costs one map lookup; the first
// verification is async: the stream pauses and resumes.
import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { JwtRule } from '../../model/jwt-rules.js';
import type { RequestAuth } from '../../model/request-auth.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { JwksRegistry, JwksSource } from './jwks-source.js';
import type { DownstreamStat, StatScope } from '../../telemetry/stats.js';

/** Envoy's default clock_skew_seconds. */
export const DEFAULT_CLOCK_SKEW_S = 60;
/**
 * Verified tokens kept per provider (rule): Envoy's jwt_cache_size default. One cache serves the
 * filter's providers (one filter per config version), so it holds this many times their number.
 */
export const TOKEN_CACHE_SIZE = 100;

// jwt_verify_lib's status texts (Envoy sends them as the local reply's body).
const MISSING_ISSUER = 'Jwt issuer is not configured';
const VERIFY_FAILS = 'Jwt verification fails';
const EXPIRED = 'Jwt is expired';
const NOT_YET_VALID = 'Jwt not yet valid';
const AUDIENCE = 'Audiences in Jwt are not allowed';
const BAD_FORMAT = 'Jwt is not in the form of Header.Payload.Signature';
const FETCH_FAILED = 'Jwks remote fetch is failed';
const KID_MISMATCH = "Jwks doesn't have key to match kid or alg from Jwt";

interface Provider {
  readonly rule: JwtRule;
  readonly keys: JwksSource;
}

interface Found {
  provider: Provider;
  token: string;
  /** The header it came from (removed when not forwarded); null for a parameter or cookie. */
  header: string | null;
  /** The verified-token cache's entry for the token, looked up as it was found; undefined: none. */
  entry: Verified | undefined;
}

interface Verified {
  /** The token, and the cache's key for it (cacheKey). */
  readonly token: string;
  readonly key: string;
  /** Only JWT characters (base64url and dots): what a header's token scan would return whole. */
  readonly plain: boolean;
  readonly auth: RequestAuth;
  readonly payloadSegment: string;
  /** ms since epoch after which the cached verdict is void (exp + skew; Infinity without exp). */
  readonly until: number;
  /** ms since epoch before which it is void (nbf − skew; −Infinity without nbf): a clock set back. */
  readonly from: number;
  readonly provider: Provider;
  /** Its place in the cache's recency order (the filter's counter when it was last put at the back). */
  stamp: number;
}

export interface JwtAuthnOptions {
  readonly clockSkewS?: number;
  readonly cacheSize?: number;
  readonly now?: () => number;
  /** Where jwt_authn.* counters go; default none (unit tests). */
  readonly stats?: StatScope<DownstreamStat>;
}

/** The filter for `rules` (non-empty), with key sets from `registry`; `dispose` lets them go. */
export function jwtAuthnFilter(rules: readonly JwtRule[], registry: JwksRegistry, opts: JwtAuthnOptions = {}): { filter: HttpFilter; dispose: () => void } {
  const providers: Provider[] = [];
  try {
    for (const rule of rules) providers.push({ rule, keys: registry.acquire(rule) });
  } catch (err) {
    // A bad inline set refuses the version: the remote sources taken so far are let go.
    for (const p of providers) registry.release(p.keys);
    throw err;
  }
  const authn = new JwtAuthn(providers, opts);
  return { filter: authn, dispose: () => providers.forEach((p) => registry.release(p.keys)) };
}

export class JwtAuthn implements HttpFilter {
  readonly providers: readonly Provider[];
  readonly #skew: number;
  readonly #now: () => number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Verified>();
  /** Recency counter: the stamp of the entry last put at the back of #cache. */
  #stamp = 0;
  /**
   * The tokens #extract found in the request being decoded: the first #foundCount slots, reused
   * from request to request (the filter is shared, but a request's tokens are used before
   * onRequestHeaders returns; a request that waits for jose takes a copy).
   */
  readonly #found: Found[] = [];
  #foundCount = 0;
  readonly #stats: StatScope<DownstreamStat> | null;
  /** Headers a client must not set itself: the payload and claim outputs (Envoy sanitizes them). */
  readonly #outputs: readonly string[];

  constructor(providers: readonly Provider[], opts: JwtAuthnOptions = {}) {
    this.providers = providers;
    this.#skew = opts.clockSkewS ?? DEFAULT_CLOCK_SKEW_S;
    this.#now = opts.now ?? Date.now;
    this.#cacheSize = opts.cacheSize ?? TOKEN_CACHE_SIZE * Math.max(1, providers.length);
    this.#stats = opts.stats ?? null;
    const out = new Set<string>();
    for (const p of providers) {
      if (p.rule.outputPayloadToHeader !== null) out.add(p.rule.outputPayloadToHeader);
      for (const c of p.rule.outputClaimToHeaders) out.add(c.header);
    }
    this.#outputs = [...out];
  }

  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    // Istio sets bypass_cors_preflight: a preflight carries no credentials.
    if (stream.downstream.method === 'OPTIONS' && stream.requestHeader('origin') !== null && stream.requestHeader('access-control-request-method') !== null) {
      this.#stats?.inc('jwt_authn.cors_preflight_bypassed');
      return FilterStatus.Continue;
    }
    for (let i = 0; i < this.#outputs.length; i++) stream.removeRequestHeader(this.#outputs[i]!);
    const n = this.#extract(stream);
    if (n === 0) {
      this.#stats?.inc('jwt_authn.allowed');
      return FilterStatus.Continue;
    }
    const cached = this.#cached(this.#found, n);
    if (cached !== null) {
      this.#stats?.inc('jwt_authn.jwt_cache_hit');
      this.#succeed(stream, cached, this.#found, n);
      return FilterStatus.Continue;
    }
    this.#stats?.inc('jwt_authn.jwt_cache_miss');
    const found: Found[] = [];
    for (let i = 0; i < n; i++) found.push({ ...this.#found[i]! });
    this.#verifyAll(found).then(
      (v) => {
        if (v.ok) {
          this.#succeed(stream, v.verified, found, found.length);
          stream.continueDecoding();
        } else this.#fail(stream, v.status);
      },
      () => this.#fail(stream, VERIFY_FAILS),
    );
    return FilterStatus.StopIteration;
  }

  /**
   * Every token found in any rule's locations, in rule order, with its cache entry, into the
   * first slots of #found: how many (0: none).
   */
  #extract(stream: StreamCallbacks): number {
    this.#foundCount = 0;
    const providers = this.providers;
    for (let p = 0; p < providers.length; p++) {
      const provider = providers[p]!;
      const rule = provider.rule;
      for (let k = 0; k < rule.fromHeaders.length; k++) {
        const h = rule.fromHeaders[k]!;
        const v = stream.requestHeader(h.name);
        if (v === null) continue;
        let token = v;
        let entry: Verified | undefined;
        if (h.prefix !== '') {
          // Envoy: the prefix anywhere in the value (case-sensitive), then the run of base64url
          // characters and dots after it (a value without the prefix carries no token).
          const at = v.indexOf(h.prefix);
          if (at < 0) continue;
          const start = at + h.prefix.length;
          // A token verified before that fills the rest of the value, as clients send it: the
          // scan would return it whole (its characters are all JWT ones and it reaches the end),
          // so the cache finds it without the scan, which costs as much as the lookup.
          if (start < v.length) {
            entry = this.#cache.get(cacheKey(v, start));
            if (entry !== undefined && entry.plain && entry.token.length === v.length - start && entry.token === v.slice(start)) token = entry.token;
            else entry = undefined;
          }
          if (entry === undefined) token = jwtAfter(v, start);
        }
        if (token === '') continue;
        this.#add(provider, token, h.name, entry ?? this.#lookup(token));
      }
      if (rule.fromParams.length > 0) {
        const path = stream.downstream.path;
        const q = path.indexOf('?');
        if (q >= 0) {
          const params = new URLSearchParams(path.slice(q + 1));
          for (const name of rule.fromParams) {
            const t = params.get(name);
            if (t !== null && t !== '') this.#add(provider, t, null, this.#lookup(t));
          }
        }
      }
      if (rule.fromCookies.length > 0) {
        const cookie = stream.requestHeader('cookie');
        if (cookie !== null) {
          for (const name of rule.fromCookies) {
            const t = cookieValue(cookie, name);
            if (t !== null && t !== '') this.#add(provider, t, null, this.#lookup(t));
          }
        }
      }
    }
    return this.#foundCount;
  }

  #add(provider: Provider, token: string, header: string | null, entry: Verified | undefined): void {
    const f = this.#found[this.#foundCount++];
    if (f === undefined) {
      this.#found.push({ provider, token, header, entry });
      return;
    }
    f.provider = provider;
    f.token = token;
    f.header = header;
    f.entry = entry;
  }

  /**
   * The cache's entry for exactly `token`, or undefined. Keyed by the token's last characters
   * (cacheKey: hashing a whole RS256 token per request cost as much as the rest of the filter),
   * then compared whole: an entry answers only for the very text that was verified.
   */
  #lookup(token: string): Verified | undefined {
    const v = this.#cache.get(cacheKey(token, 0));
    return v !== undefined && v.token === token ? v : undefined;
  }

  /**
   * A cached verdict that lets the request pass (requires_any: one verified token is enough), or
   * null. An entry counts only for a token found in a location of the provider that verified it
   * (another rule's verdict on the same text says nothing: its issuer, audiences and keys
   * differ) and only inside the exp/nbf window it was verified for; one outside it is dropped.
   */
  #cached(found: readonly Found[], n: number): Verified | null {
    for (let i = 0; i < n; i++) {
      const f = found[i]!;
      const v = f.entry;
      if (v === undefined || v.provider !== f.provider) continue;
      const now = this.#now();
      if (v.until > now && v.from <= now) {
        this.#touch(v);
        return v;
      }
      if (this.#cache.get(v.key) === v) this.#cache.delete(v.key);
    }
    return null;
  }

  /** requires_any: the request passes when one found token verifies with its rule. */
  async #verifyAll(found: readonly Found[]): Promise<{ ok: true; verified: Verified } | { ok: false; status: string }> {
    let status = MISSING_ISSUER;
    for (const f of found) {
      const r = await this.#verify(f);
      if (r.ok) return r;
      // A token of another issuer than this rule's says nothing about the others' verdicts.
      if (r.status !== MISSING_ISSUER || status === MISSING_ISSUER) status = r.status;
    }
    return { ok: false, status };
  }

  async #verify(f: Found): Promise<{ ok: true; verified: Verified } | { ok: false; status: string }> {
    const rule = f.provider.rule;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(f.token);
    } catch {
      return { ok: false, status: BAD_FORMAT };
    }
    if (claims.iss !== rule.issuer) return { ok: false, status: MISSING_ISSUER };
    let keys: JWTVerifyGetKey | null = f.provider.keys.keys() ?? (await f.provider.keys.ready());
    if (keys === null) return { ok: false, status: FETCH_FAILED };
    let payload: JWTPayload;
    for (let attempt = 0; ; attempt++) {
      try {
        payload = (await jwtVerify(f.token, keys, {
          issuer: rule.issuer,
          ...(rule.audiences.length > 0 ? { audience: [...rule.audiences] } : {}),
          clockTolerance: this.#skew,
          currentDate: new Date(this.#now()),
        })).payload;
        break;
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey && attempt === 0 && (await f.provider.keys.refetchForUnknownKey())) {
          keys = f.provider.keys.keys()!;
          continue;
        }
        return { ok: false, status: statusOf(err) };
      }
    }
    const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const key = cacheKey(f.token, 0);
    const verified: Verified = {
      token: f.token,
      key,
      plain: isJwtText(f.token),
      auth: { principal: `${payload.iss ?? ''}/${payload.sub ?? ''}`, audiences: aud, presenter: typeof payload.azp === 'string' ? payload.azp : '', claims: payload },
      payloadSegment: f.token.slice(f.token.indexOf('.') + 1, f.token.lastIndexOf('.')),
      until: typeof payload.exp === 'number' ? (payload.exp + this.#skew) * 1000 : Infinity,
      from: typeof payload.nbf === 'number' ? (payload.nbf - this.#skew) * 1000 : -Infinity,
      provider: f.provider,
      stamp: 0,
    };
    this.#remember(verified);
    return { ok: true, verified };
  }

  /** A verified token into the cache (replacing one with the same key), the oldest out when full. */
  #remember(v: Verified): void {
    const c = this.#cache;
    c.delete(v.key);
    if (c.size >= this.#cacheSize) c.delete(c.keys().next().value!);
    v.stamp = ++this.#stamp;
    c.set(v.key, v);
  }

  /**
   * LRU, nearly, on a hit: the entry moves to the back unless it is in the newer half already
   * (the map's order is the stamps' order, so its stamp says how many entries were put behind it
   * since). Either way it outlives at least half the cache's size of new tokens after this hit
   * (strict LRU: all of it), and a client reusing its token is spared a delete and an insert
   * (and the map's rehashing) per request.
   */
  #touch(v: Verified): void {
    if (this.#stamp - v.stamp < this.#cacheSize >>> 1) return;
    const c = this.#cache;
    c.delete(v.key);
    v.stamp = ++this.#stamp;
    c.set(v.key, v);
  }

  /** The first `n` of `found` are the request's tokens. */
  #succeed(stream: StreamCallbacks, v: Verified, found: readonly Found[], n: number): void {
    this.#stats?.inc('jwt_authn.allowed');
    stream.requestAuth = v.auth;
    const rule = v.provider.rule;
    // forward: false — the header that carried a token of this provider goes (Envoy removes it
    // whole, prefix and all); parameters and cookies are left, as Envoy leaves them.
    for (let i = 0; i < n; i++) {
      const f = found[i]!;
      if (f.provider === v.provider && f.header !== null && !rule.forwardOriginalToken) stream.removeRequestHeader(f.header);
    }
    if (rule.outputPayloadToHeader !== null) stream.setRequestHeader(rule.outputPayloadToHeader, v.payloadSegment);
    for (const c of rule.outputClaimToHeaders) {
      const value = claimText(v.auth.claims, c.claim);
      if (value !== null) stream.setRequestHeader(c.header, value);
    }
  }

  #fail(stream: StreamCallbacks, status: string): void {
    this.#stats?.inc('jwt_authn.denied');
    const ds = stream.downstream;
    const scheme = stream.requestHeader('x-forwarded-proto') ?? 'http';
    const uri = `${scheme}://${ds.authority}${ds.path.length > 256 ? ds.path.slice(0, 256) : ds.path}`;
    stream.sendLocalReply(status === AUDIENCE ? '403 Forbidden' : '401 Unauthorized', [['www-authenticate', `Bearer realm="${uri}", error="invalid_token"`]], status);
  }
}

function statusOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return EXPIRED;
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return NOT_YET_VALID;
    if (err.claim === 'aud') return AUDIENCE;
    if (err.claim === 'exp') return EXPIRED;
    return VERIFY_FAILS;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return KID_MISMATCH;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return BAD_FORMAT;
  return VERIFY_FAILS;
}

/** A claim as a header value: strings as they are, numbers and booleans as text; nested by dots. */
function claimText(claims: Readonly<Record<string, unknown>>, name: string): string | null {
  let v: unknown = claims[name];
  if (v === undefined && name.includes('.')) {
    v = claims;
    for (const part of name.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** 1 for the characters of a JWT (base64url and the dots), by char code below 128. */
const JWT_CHAR = (() => {
  const t = new Uint8Array(128);
  const set = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  for (let i = 0; i < set.length; i++) t[set.charCodeAt(i)] = 1;
  return t;
})();

function isJwtChar(c: number): boolean {
  return c < 128 && JWT_CHAR[c] === 1;
}

function isJwtText(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isJwtChar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Characters at a token's end that key the verified-token cache: the end of its signature (a
 * third of an RS256 one, all of an HS256 one), as good as unique among honest tokens. Two
 * tokens with the same end share a slot (the later verified one keeps it); a lookup compares
 * the whole token, so a token that copies another's signature finds nothing.
 */
const KEY_CHARS = 48;

/** The key of the token `text.slice(start)`, cut from `text` directly. */
function cacheKey(text: string, start: number): string {
  const from = text.length - KEY_CHARS;
  return from <= start ? (start === 0 ? text : text.slice(start)) : text.slice(from);
}

/**
 * Envoy's extractJWT: the base64url-and-dot run starting at the first such character from `from`
 * (the value as is when none). A scan by char code over a table: this runs on every request that
 * carries a token, over the whole token (a regex test per character cost more than the
 * verified-token cache saved).
 */
function jwtAfter(value: string, from: number): string {
  const n = value.length;
  let start = from;
  while (start < n && !isJwtChar(value.charCodeAt(start))) start++;
  if (start === n) return value;
  let end = start + 1;
  while (end < n && isJwtChar(value.charCodeAt(end))) end++;
  return start === 0 && end === n ? value : value.slice(start, end);
}

function cookieValue(header: string, name: string): string | null {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
