// Local rate limit exports: token buckets (one per rule, formatted by rl_bucket_init) and
// per-descriptor tables (rl_table_init), both in regions the host allocates and keeps across
// config versions while a rule is unchanged. Times are ms as f64 from the host's clock, read
// once per request; results are numbers (1 allowed, 0 limited, negative: not a bucket/table).
import { BUCKET_SIZE, bucketInit, isBucket, bucketConsume, bucketRemaining, bucketMax, bucketNextTokenMs } from './token-bucket';
import { tableSize, tableInit, isTable, tableBucket, tableCount } from './descriptor-table';

/** Bytes of a bucket region. */
export function rl_bucket_size(): u32 {
  return BUCKET_SIZE;
}

/** Formats a full bucket at `b`: 0, or -1 for a zero interval or tokens per fill. */
export function rl_bucket_init(b: usize, maxTokens: u32, tokensPerFill: u32, fillMs: u32): i32 {
  return bucketInit(b, maxTokens, tokensPerFill, fillMs) ? 0 : -1;
}

/** Takes a token from bucket `b` at `nowMs`: 1 allowed, 0 rate limited, -1 not a bucket. */
export function rl_consume(b: usize, nowMs: f64): i32 {
  if (!isBucket(b)) return -1;
  return bucketConsume(b, nowMs) ? 1 : 0;
}

/** x-ratelimit-remaining of bucket `b` after its last consume. */
export function rl_remaining(b: usize): u32 {
  return isBucket(b) ? bucketRemaining(b) : 0;
}

/** x-ratelimit-limit of bucket `b`. */
export function rl_limit(b: usize): u32 {
  return isBucket(b) ? bucketMax(b) : 0;
}

/** Ms until bucket `b` has a whole token again (0: it has one). */
export function rl_next_token_ms(b: usize): u32 {
  return isBucket(b) ? bucketNextTokenMs(b) : 0;
}

/** Bytes of a descriptor table for `maxEntries` values (0: out of 1..100,000). */
export function rl_table_size(maxEntries: u32): u32 {
  return tableSize(maxEntries);
}

/** Formats a descriptor table at `t`: 0, or -1 on bad values. */
export function rl_table_init(t: usize, maxEntries: u32, maxTokens: u32, tokensPerFill: u32, fillMs: u32): i32 {
  return tableInit(t, maxEntries, maxTokens, tokensPerFill, fillMs) ? 0 : -1;
}

/** The bucket (an address for rl_consume) of the descriptor bytes `key`/`len` in table `t`; 0 when `t` is not a table. */
export function rl_table_bucket(t: usize, key: usize, len: usize): usize {
  return isTable(t) ? tableBucket(t, key, len) : 0;
}

/** Descriptor values with a bucket in table `t`. */
export function rl_table_count(t: usize): u32 {
  return isTable(t) ? tableCount(t) : 0;
}
