// The key sets the JWT filter verifies with (RequestAuthentication jwks / jwksUri). Inline sets
// are imported once; a remote set is fetched over HTTP(S) off the request path, kept, refreshed
// every 20 minutes (Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: istiod refetches each jwksUri on
// that period and pushes the keys to Envoy) and refetched early when a token names a `kid` the
// set lacks (at most once per MIN_REFETCH_MS, so a flood of forged kids cannot hammer the
// issuer). A failed fetch keeps the last good keys; with none yet, tokens fail verification
// (Envoy: "Jwks remote fetch is failed"). Responses are bounded (MAX_JWKS_BYTES).
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** Istio's JWKS refresh period (PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, 20 min). */
export const JWKS_REFRESH_MS = 20 * 60_000;
/** The shortest gap between two fetches of one set triggered by unknown `kid`s or failures. */
export const MIN_REFETCH_MS = 30_000;
/** The largest JWKS document accepted (Envoy's remote JWKS fetcher buffers the whole body too). */
export const MAX_JWKS_BYTES = 1 << 20;

/** A key set the verifier can ask for keys; `keys()` is null until one was obtained. */
export interface JwksSource {
  keys(): JWTVerifyGetKey | null;
  /** The keys, waiting (up to the fetch timeout) for the first fetch when none is there yet. */
  ready(): Promise<JWTVerifyGetKey | null>;
  /** A token named a key the set lacks: refetch if allowed now; resolves true when the set changed. */
  refetchForUnknownKey(): Promise<boolean>;
  close(): void;
}

/** Parses and checks a JWKS document into jose's local key set; throws with the reason. */
export function parseJwks(text: string): JWTVerifyGetKey {
  const doc = JSON.parse(text) as JSONWebKeySet;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.keys)) throw new Error('no "keys" array');
  return createLocalJWKSet(doc);
}

export class InlineJwks implements JwksSource {
  readonly #keys: JWTVerifyGetKey;
  readonly #ready: Promise<JWTVerifyGetKey | null>;
  constructor(text: string) {
    this.#keys = parseJwks(text);
    this.#ready = Promise.resolve(this.#keys);
  }
  keys(): JWTVerifyGetKey {
    return this.#keys;
  }
  ready(): Promise<JWTVerifyGetKey | null> {
    return this.#ready;
  }
  refetchForUnknownKey(): Promise<boolean> {
    return FALSE;
  }
  close(): void {}
}

const FALSE = Promise.resolve(false);

export interface RemoteJwksOptions {
  readonly timeoutMs: number;
  readonly refreshMs?: number;
  readonly minRefetchMs?: number;
  readonly maxBytes?: number;
  /** Clock for the refetch rate limit (tests); default Date.now. */
  readonly now?: () => number;
  /** Where failures are reported; default none. */
  readonly log?: (message: string) => void;
}

export class RemoteJwks implements JwksSource {
  readonly uri: string;
  readonly #opts: RemoteJwksOptions;
  #keys: JWTVerifyGetKey | null = null;
  #text: string | null = null;
  #inflight: Promise<boolean> | null = null;
  #lastFetch = -Infinity;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Fetches made and failed (tests and stats). */
  fetches = 0;
  failures = 0;

  constructor(uri: string, opts: RemoteJwksOptions) {
    this.uri = uri;
    this.#opts = opts;
    void this.#fetch();
    this.#timer = setInterval(() => void this.#fetch(), opts.refreshMs ?? JWKS_REFRESH_MS);
    this.#timer.unref();
  }

  keys(): JWTVerifyGetKey | null {
    return this.#keys;
  }

  async ready(): Promise<JWTVerifyGetKey | null> {
    if (this.#keys !== null) return this.#keys;
    await (this.#inflight ?? this.#refetchIfAllowed());
    return this.#keys;
  }

  refetchForUnknownKey(): Promise<boolean> {
    return this.#inflight ?? this.#refetchIfAllowed();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #refetchIfAllowed(): Promise<boolean> {
    const now = (this.#opts.now ?? Date.now)();
    if (now - this.#lastFetch < (this.#opts.minRefetchMs ?? MIN_REFETCH_MS)) return FALSE;
    return this.#fetch();
  }

  /** One fetch at a time; resolves true when the key set changed. Never rejects. */
  #fetch(): Promise<boolean> {
    if (this.#closed) return FALSE;
    if (this.#inflight !== null) return this.#inflight;
    this.#lastFetch = (this.#opts.now ?? Date.now)();
    this.fetches++;
    const p = this.#load().then(
      (text) => {
        if (text === this.#text) return false;
        this.#keys = parseJwks(text);
        this.#text = text;
        return true;
      },
    ).catch((err: unknown) => {
      this.failures++;
      this.#opts.log?.(`wasmesh: JWKS fetch from ${this.uri} failed, keeping ${this.#keys === null ? 'no keys' : 'the last keys'}: ${(err as Error).message}`);
      return false;
    }).finally(() => {
      this.#inflight = null;
    });
    this.#inflight = p;
    return p;
  }

  async #load(): Promise<string> {
    const max = this.#opts.maxBytes ?? MAX_JWKS_BYTES;
    const res = await fetch(this.uri, { signal: AbortSignal.timeout(this.#opts.timeoutMs), headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`status ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > max) {
      await res.body?.cancel();
      throw new Error(`body of ${declared} bytes is over the ${max}-byte limit`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        throw new Error(`body over the ${max}-byte limit`);
      }
      chunks.push(value);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    parseJwks(text); // a bad document keeps the last keys
    return text;
  }
}

/**
 * The remote key sets of one server, by URI, shared by its config versions: a reload that keeps a
 * jwksUri keeps its keys and timer. `retain` returns the sources one version's rules use; sources
 * no version uses any more are closed by `sweep`.
 */
export class JwksRegistry {
  readonly #remote = new Map<string, { source: RemoteJwks; users: number }>();
  readonly #log: ((m: string) => void) | undefined;
  constructor(log?: (m: string) => void) {
    this.#log = log;
  }

  /** The source for a rule's key set; inline sets are new each time (cheap, immutable). */
  acquire(rule: { jwks: string | null; jwksUri: string | null; timeoutMs: number }): JwksSource {
    if (rule.jwks !== null) return new InlineJwks(rule.jwks);
    const uri = rule.jwksUri!;
    let e = this.#remote.get(uri);
    if (e === undefined) {
      e = { source: new RemoteJwks(uri, { timeoutMs: rule.timeoutMs, ...(this.#log !== undefined ? { log: this.#log } : {}) }), users: 0 };
      this.#remote.set(uri, e);
    }
    e.users++;
    return e.source;
  }

  /** A version let go of `source` (its last request ended). */
  release(source: JwksSource): void {
    if (!(source instanceof RemoteJwks)) return;
    const e = this.#remote.get(source.uri);
    if (e === undefined || e.source !== source) return;
    if (--e.users === 0) {
      e.source.close();
      this.#remote.delete(source.uri);
    }
  }

  close(): void {
    for (const e of this.#remote.values()) e.source.close();
    this.#remote.clear();
  }
}
