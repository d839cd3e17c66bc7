// The host's side of the local rate limits (assembly/ratelimit/): token buckets and
// per-descriptor tables in the core's memory, one set per core instance (per thread). A bucket
// is keyed by its rule's identity and settings, so a config version that keeps a rule unchanged
// keeps its bucket (tokens taken stay taken across reloads, as the upstream endpoint slots keep
// their state); a rule that changed or went away is freed when the next version commits.
import type { Core, CoreExports } from '../wasm.js';

/** The rate limit exports of core.wasm (assembly/ratelimit/index.ts). */
interface RateLimitExports extends CoreExports {
  rl_bucket_size(): number;
  rl_bucket_init(b: number, maxTokens: number, tokensPerFill: number, fillMs: number): number;
  rl_consume(b: number, nowMs: number): number;
  rl_remaining(b: number): number;
  rl_limit(b: number): number;
  rl_next_token_ms(b: number): number;
  rl_table_size(maxEntries: number): number;
  rl_table_init(t: number, maxEntries: number, maxTokens: number, tokensPerFill: number, fillMs: number): number;
  rl_table_bucket(t: number, key: number, len: number): number;
  rl_table_count(t: number): number;
}

/** A token bucket's settings (host/model/rate-limit.ts TokenBucketSpec). */
export interface BucketSettings {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/** A bucket or a descriptor table; `ptr` is 0 once freed (a request of an older version then skips it). */
export interface LimiterHandle {
  ptr: number;
  readonly table: boolean;
}

/** A settings error caught when the version is built (bad numbers never reach the core). */
export class RateLimitConfigError extends Error {
  readonly code = 'RATE_LIMIT_INVALID';
  constructor(message: string) {
    super(`${message} (RATE_LIMIT_INVALID)`);
    this.name = 'RateLimitConfigError';
  }
}

const U32_MAX = 0xffff_ffff;

function checkSettings(s: BucketSettings): void {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= U32_MAX;
  if (!u32(s.maxTokens) || !u32(s.tokensPerFill) || s.tokensPerFill === 0 || !u32(s.fillIntervalMs) || s.fillIntervalMs === 0) {
    throw new RateLimitConfigError(`token bucket ${JSON.stringify(s)} is out of range (maxTokens, tokensPerFill ≥ 1 and fillInterval ≥ 1 ms as uint32)`);
  }
}

/** Every local rate limit bucket of one core. */
export class LocalRateLimiter {
  readonly #core: Core;
  readonly #x: RateLimitExports;
  readonly #clock: () => number;
  readonly #handles = new Map<string, LimiterHandle>();
  #kept = new Set<string>();
  /** Reused region for a descriptor's bytes; grows, never shrinks. */
  #scratch = 0;
  #scratchSize = 0;

  /** `clock`: ms, monotonic (performance.now by default; tests pass a fake one). */
  constructor(core: Core, clock: () => number = () => performance.now()) {
    this.#core = core;
    this.#x = core.exports as RateLimitExports;
    this.#clock = clock;
  }

  /** Now, in the clock's ms: read once per request and passed to every consume. */
  now(): number {
    return this.#clock();
  }

  /** Starts collecting the buckets of a new config version. */
  begin(): void {
    this.#kept = new Set();
  }

  /** The bucket of rule `key` with `s` (the same as the current version's when both are unchanged). */
  bucket(key: string, s: BucketSettings): LimiterHandle {
    checkSettings(s);
    const id = `b|${key}|${s.maxTokens}|${s.tokensPerFill}|${s.fillIntervalMs}`;
    this.#kept.add(id);
    let h = this.#handles.get(id);
    if (h === undefined) {
      const ptr = this.#x.alloc(this.#x.rl_bucket_size());
      if (this.#x.rl_bucket_init(ptr, s.maxTokens, s.tokensPerFill, s.fillIntervalMs) !== 0) {
        this.#x.free(ptr);
        throw new RateLimitConfigError(`the core refused token bucket ${JSON.stringify(s)}`);
      }
      h = { ptr, table: false };
      this.#handles.set(id, h);
    }
    return h;
  }

  /** The per-descriptor table of rule `key`: up to `maxEntries` descriptor values, each with a bucket of settings `s`. */
  table(key: string, s: BucketSettings, maxEntries: number): LimiterHandle {
    checkSettings(s);
    const size = this.#x.rl_table_size(maxEntries);
    if (size === 0) throw new RateLimitConfigError(`maxDynamicDescriptors ${maxEntries} is out of 1..100000`);
    const id = `t|${key}|${s.maxTokens}|${s.tokensPerFill}|${s.fillIntervalMs}|${maxEntries}`;
    this.#kept.add(id);
    let h = this.#handles.get(id);
    if (h === undefined) {
      const ptr = this.#x.alloc(size);
      this.#x.rl_table_init(ptr, maxEntries, s.maxTokens, s.tokensPerFill, s.fillIntervalMs);
      h = { ptr, table: true };
      this.#handles.set(id, h);
    }
    return h;
  }

  /** The version built since begin() serves: every bucket it does not use is freed. */
  commit(): void {
    for (const [id, h] of this.#handles) {
      if (this.#kept.has(id)) continue;
      this.#x.free(h.ptr);
      h.ptr = 0;
      this.#handles.delete(id);
    }
  }

  /** Buckets and tables held (tests). */
  get size(): number {
    return this.#handles.size;
  }

  /** Takes a token from bucket `b` (an address from descriptorBucket or a bucket handle's ptr): true allowed. */
  consume(b: number, nowMs: number): boolean {
    return this.#x.rl_consume(b, nowMs) === 1;
  }

  remaining(b: number): number {
    return this.#x.rl_remaining(b);
  }

  limit(b: number): number {
    return this.#x.rl_limit(b);
  }

  /** Envoy's x-ratelimit-reset: seconds until the next token, rounded up (Envoy 1.40 answers 59 at 58.5 s). */
  resetSeconds(b: number): number {
    return Math.ceil(this.#x.rl_next_token_ms(b) / 1000);
  }

  /** Descriptor values held by table `t` (tests). */
  tableCount(t: LimiterHandle): number {
    return t.ptr === 0 ? 0 : this.#x.rl_table_count(t.ptr);
  }

  /**
   * The bucket of one descriptor (its entries' values) in table `t`, 0 when the table was freed.
   * The values are written into a reused region, each as its length and its UTF-16 code units
   * (one byte below 0x80, three above), so distinct descriptors give distinct bytes.
   */
  descriptorBucket(t: LimiterHandle, values: readonly string[]): number {
    if (t.ptr === 0) return 0;
    let need = 0;
    for (const v of values) need += 4 + 3 * v.length;
    if (need > this.#scratchSize) {
      if (this.#scratch !== 0) this.#x.free(this.#scratch);
      this.#scratchSize = Math.max(256, need * 2);
      this.#scratch = this.#x.alloc(this.#scratchSize);
    }
    const u8 = this.#core.u8;
    let p = this.#scratch;
    for (const v of values) {
      const n = v.length;
      u8[p++] = n & 0xff;
      u8[p++] = (n >>> 8) & 0xff;
      u8[p++] = (n >>> 16) & 0xff;
      u8[p++] = (n >>> 24) & 0xff;
      for (let i = 0; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c < 0x80) u8[p++] = c;
        else {
          u8[p++] = 0xff;
          u8[p++] = c >>> 8;
          u8[p++] = c & 0xff;
        }
      }
    }
    return this.#x.rl_table_bucket(t.ptr, this.#scratch, p - this.#scratch);
  }
}
