// Envoy's local rate limit token bucket (type.v3.TokenBucket as its AtomicTokenBucketImpl runs
// it): refilled continuously at tokensPerFill per fillInterval, never above maxTokens, full at
// first use. Kept in integers so that no rounding ever grants a token: the content is counted
// in "token-milliseconds" (tokens × fillMs), so one elapsed millisecond adds exactly
// tokensPerFill units and one token costs fillMs units. Times are whole ms from the host's clock.

/** Bytes of one bucket record. */
export const BUCKET_SIZE: u32 = 32;
/** First word of an initialised bucket. */
export const BUCKET_MAGIC: u32 = 0x524c_4231; // 'RLB1'

// Record layout.
const B_SCALED: usize = 0; // u64: tokens × fillMs
const B_LAST_MS: usize = 8; // f64: the ms the content was last brought up to date (NaN: never used)
const B_MAX: usize = 16; // u32 maxTokens
const B_PER_FILL: usize = 20; // u32 tokensPerFill
const B_FILL_MS: usize = 24; // u32 fillInterval in ms
const B_MAGIC: usize = 28; // u32

/** Formats the bucket at `b`: full, not yet used. False (nothing written) for a zero interval or tokens per fill. */
export function bucketInit(b: usize, maxTokens: u32, tokensPerFill: u32, fillMs: u32): bool {
  if (fillMs == 0 || tokensPerFill == 0) return false;
  store<u64>(b + B_SCALED, <u64>maxTokens * <u64>fillMs);
  store<f64>(b + B_LAST_MS, NaN);
  store<u32>(b + B_MAX, maxTokens);
  store<u32>(b + B_PER_FILL, tokensPerFill);
  store<u32>(b + B_FILL_MS, fillMs);
  store<u32>(b + B_MAGIC, BUCKET_MAGIC);
  return true;
}

export function isBucket(b: usize): bool {
  return b != 0 && load<u32>(b + B_MAGIC) == BUCKET_MAGIC;
}

/** Brings the content up to `nowMs`. A clock that went back adds nothing (and is not remembered). */
function refill(b: usize, nowMs: f64): void {
  const now = Math.floor(nowMs);
  const last = load<f64>(b + B_LAST_MS);
  if (isNaN(last)) {
    store<f64>(b + B_LAST_MS, now);
    return;
  }
  if (!(now > last)) return;
  const fillMs = <u64>load<u32>(b + B_FILL_MS);
  const perFill = <u64>load<u32>(b + B_PER_FILL);
  const cap = <u64>load<u32>(b + B_MAX) * fillMs;
  const scaled = load<u64>(b + B_SCALED);
  const missing = cap > scaled ? cap - scaled : 0;
  // The ms that fill the bucket from here: more elapsed time adds nothing (and would overflow).
  const toFull = missing / perFill + 1;
  const elapsed = now - last;
  const add: u64 = elapsed >= <f64>toFull ? missing : min<u64>(missing, <u64>elapsed * perFill);
  store<u64>(b + B_SCALED, scaled + add);
  store<f64>(b + B_LAST_MS, now);
}

/** Takes one token at `nowMs`: true when there was one (the request is allowed). */
export function bucketConsume(b: usize, nowMs: f64): bool {
  refill(b, nowMs);
  const fillMs = <u64>load<u32>(b + B_FILL_MS);
  const scaled = load<u64>(b + B_SCALED);
  if (scaled < fillMs) return false;
  store<u64>(b + B_SCALED, scaled - fillMs);
  return true;
}

/** Whole tokens left (x-ratelimit-remaining), as of the last consume. */
export function bucketRemaining(b: usize): u32 {
  return <u32>(load<u64>(b + B_SCALED) / <u64>load<u32>(b + B_FILL_MS));
}

/** maxTokens (x-ratelimit-limit). */
export function bucketMax(b: usize): u32 {
  return load<u32>(b + B_MAX);
}

/** Ms until the next whole token, as of the last consume (0: one is there). */
export function bucketNextTokenMs(b: usize): u32 {
  const fillMs = <u64>load<u32>(b + B_FILL_MS);
  const scaled = load<u64>(b + B_SCALED);
  if (scaled >= fillMs) return 0;
  const perFill = <u64>load<u32>(b + B_PER_FILL);
  return <u32>((fillMs - scaled + perFill - 1) / perFill);
}
