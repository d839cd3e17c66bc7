// The local rate limit benchmark: one token-bucket check per request as the local_ratelimit
// filter makes it (a clock reading passed in, the core's consume), for a rule's single bucket
// and for a per-descriptor table (the header value written into Wasm memory, hashed, looked up
// in the bounded LRU table, then consumed), with the buckets never empty (the allowed path).
import { LocalRateLimiter } from '../host/core/ratelimit/local-rate-limiter.js';
import { Core } from '../host/core/wasm.js';
import { sink, type BenchCase, type BenchSuite } from './runner.js';

export function rateLimitSuite(): BenchSuite {
  const core = new Core();
  let now = 0;
  const limiter = new LocalRateLimiter(core, () => now);
  // Enough tokens that no case ever sees an empty bucket: every op is an allowed request.
  const plenty = { maxTokens: 4_000_000_000, tokensPerFill: 4_000_000_000, fillIntervalMs: 1000 };
  limiter.begin();
  const one = limiter.bucket('bench/one', plenty).ptr;
  const table20 = limiter.table('bench/t20', plenty, 20);
  const table1000 = limiter.table('bench/t1000', plenty, 1000);
  limiter.commit();
  const users = Array.from({ length: 1000 }, (_, i) => [`user-${i.toString(36).padStart(4, '0')}`]);
  let u = 0;
  const cases: BenchCase[] = [
    { name: 'consume: one bucket', fn: () => { now += 0.001; sink.value += limiter.consume(one, now) ? 1 : 0; } },
    { name: 'consume: one bucket + x-ratelimit-* numbers', fn: () => { now += 0.001; limiter.consume(one, now); sink.value += limiter.remaining(one) + limiter.limit(one) + limiter.resetSeconds(one) > 0 ? 1 : 0; } },
    { name: 'per-descriptor: same value (20-entry table)', fn: () => { now += 0.001; sink.value += limiter.consume(limiter.descriptorBucket(table20, users[0]!), now) ? 1 : 0; } },
    { name: 'per-descriptor: 1,000 values round robin (1,000-entry table)', fn: () => { now += 0.001; u = (u + 1) % 1000; sink.value += limiter.consume(limiter.descriptorBucket(table1000, users[u]!), now) ? 1 : 0; } },
    { name: 'per-descriptor: 1,000 values through a 20-entry table (every lookup evicts)', fn: () => { now += 0.001; u = (u + 1) % 1000; sink.value += limiter.consume(limiter.descriptorBucket(table20, users[u]!), now) ? 1 : 0; } },
  ];
  return {
    title: 'Local rate limit',
    about: 'One op = one request\'s token-bucket check in the core (assembly/ratelimit through LocalRateLimiter),\nthe allowed path: a single bucket, or a per-descriptor bucket found by the descriptor\'s value (xxHash64, bounded LRU table).',
    groups: [{ title: 'ratelimit · token bucket per request', cases }],
  };
}
