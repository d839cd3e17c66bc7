// The core's token buckets (assembly/ratelimit through LocalRateLimiter): Envoy's continuous
// refill in exact integer steps on a fake clock, the per-descriptor table's bound and LRU, the
// headers' numbers, buckets kept across versions while unchanged, and a property over any
// sequence of request times.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { LocalRateLimiter, RateLimitConfigError } from '../../../host/core/ratelimit/local-rate-limiter.js';

const core = new Core();

function limiterAt(start = 1_000): { limiter: LocalRateLimiter; clock: { now: number } } {
  const clock = { now: start };
  return { limiter: new LocalRateLimiter(core, () => clock.now), clock };
}

describe('LocalRateLimiter: one bucket', () => {
  it('starts full, refuses when empty, refills tokensPerFill per fillInterval (continuously) up to maxTokens', () => {
    const { limiter, clock } = limiterAt();
    limiter.begin();
    const b = limiter.bucket('r', { maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 1000 }).ptr;
    expect([1, 2, 3, 4].map(() => limiter.consume(b, clock.now))).toEqual([true, true, true, false]);
    expect(limiter.remaining(b)).toBe(0);
    expect(limiter.limit(b)).toBe(3);
    clock.now += 999;
    expect(limiter.consume(b, clock.now)).toBe(false); // 0.999 of a token is not a token
    clock.now += 1;
    expect(limiter.consume(b, clock.now)).toBe(true);
    clock.now += 60_000; // never above maxTokens
    expect([1, 2, 3, 4].map(() => limiter.consume(b, clock.now))).toEqual([true, true, true, false]);
  });

  it('x-ratelimit-reset: seconds to the next token, rounded up as Envoy does', () => {
    const { limiter, clock } = limiterAt();
    const b = limiter.bucket('r', { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }).ptr;
    expect(limiter.consume(b, clock.now)).toBe(true);
    expect(limiter.resetSeconds(b)).toBe(60);
    clock.now += 500;
    expect(limiter.consume(b, clock.now)).toBe(false);
    expect(limiter.resetSeconds(b)).toBe(60); // 59,500 ms
    clock.now += 1_000;
    expect(limiter.consume(b, clock.now)).toBe(false);
    expect(limiter.resetSeconds(b)).toBe(59); // 58,500 ms: Envoy 1.40 answers 59 here too
  });

  it('tokensPerFill above 1 refills in proportion; maxTokens 0 refuses everything; a clock going back adds nothing', () => {
    const { limiter, clock } = limiterAt();
    const b = limiter.bucket('r', { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 }).ptr;
    for (let i = 0; i < 10; i++) expect(limiter.consume(b, clock.now)).toBe(true);
    clock.now += 400; // 2 tokens
    expect([1, 2, 3].map(() => limiter.consume(b, clock.now))).toEqual([true, true, false]);
    clock.now -= 10_000;
    expect(limiter.consume(b, clock.now)).toBe(false);
    const zero = limiter.bucket('zero', { maxTokens: 0, tokensPerFill: 1, fillIntervalMs: 1000 }).ptr;
    clock.now += 1e6;
    expect(limiter.consume(zero, clock.now)).toBe(false);
  });

  it('refuses settings out of range when the version is built', () => {
    const { limiter } = limiterAt();
    expect(() => limiter.bucket('r', { maxTokens: -1, tokensPerFill: 1, fillIntervalMs: 1000 })).toThrow(RateLimitConfigError);
    expect(() => limiter.bucket('r', { maxTokens: 1, tokensPerFill: 0, fillIntervalMs: 1000 })).toThrow(/RATE_LIMIT_INVALID/);
    expect(() => limiter.table('r', { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, 0)).toThrow(/maxDynamicDescriptors/);
  });
});

describe('LocalRateLimiter across config versions', () => {
  it('keeps an unchanged rule\'s bucket (tokens taken stay taken), frees changed and dropped ones', () => {
    const { limiter, clock } = limiterAt();
    const s = { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 60_000 };
    limiter.begin();
    const v1 = limiter.bucket('ns/p/local/a', s);
    const dropped = limiter.bucket('ns/p/local/b', s);
    limiter.commit();
    limiter.consume(v1.ptr, clock.now);
    limiter.consume(v1.ptr, clock.now);
    limiter.begin();
    const v2 = limiter.bucket('ns/p/local/a', s);
    const changed = limiter.bucket('ns/p/local/c', { ...s, maxTokens: 5 });
    limiter.commit();
    expect(v2).toBe(v1);
    expect(limiter.consume(v2.ptr, clock.now)).toBe(false);
    expect(dropped.ptr).toBe(0);
    expect(limiter.size).toBe(2);
    limiter.begin();
    limiter.bucket('ns/p/local/a', { ...s, maxTokens: 3 }); // same rule, new bucket: a fresh one
    limiter.commit();
    expect(v1.ptr).toBe(0);
    expect(changed.ptr).toBe(0);
  });
});

describe('LocalRateLimiter: per-descriptor buckets', () => {
  it('one bucket per distinct value; bounded: the least recently used value is forgotten', () => {
    const { limiter, clock } = limiterAt();
    const t = limiter.table('r', { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, 2);
    const take = (v: string): boolean => limiter.consume(limiter.descriptorBucket(t, [v]), clock.now);
    expect(take('alice')).toBe(true);
    expect(take('bob')).toBe(true);
    expect(take('alice')).toBe(false);
    expect(take('bob')).toBe(false);
    expect(limiter.tableCount(t)).toBe(2);
    expect(take('carol')).toBe(true); // evicts alice (bob was used last)
    expect(limiter.tableCount(t)).toBe(2);
    expect(take('bob')).toBe(false);
    expect(take('alice')).toBe(true); // a fresh bucket: alice had been forgotten
  });

  it('descriptors of several entries are told apart by value boundaries and non-ASCII text', () => {
    const { limiter, clock } = limiterAt();
    const t = limiter.table('r', { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, 100);
    const take = (v: string[]): boolean => limiter.consume(limiter.descriptorBucket(t, v), clock.now);
    expect(take(['ab', 'c'])).toBe(true);
    expect(take(['a', 'bc'])).toBe(true);
    expect(take(['é'])).toBe(true);
    expect(take(['\u00ff\u00e9'])).toBe(true);
    expect(take(['ab', 'c'])).toBe(false);
    expect(take(['é'])).toBe(false);
  });

  it('a large table (set-associative beyond 64) holds at least maxEntries values', () => {
    const { limiter, clock } = limiterAt();
    const t = limiter.table('r', { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, 1000);
    let fresh = 0;
    for (let i = 0; i < 200; i++) if (limiter.consume(limiter.descriptorBucket(t, [`user-${i}`]), clock.now)) fresh++;
    expect(fresh).toBe(200);
    expect(limiter.tableCount(t)).toBe(200);
    let again = 0;
    for (let i = 0; i < 200; i++) if (limiter.consume(limiter.descriptorBucket(t, [`user-${i}`]), clock.now)) again++;
    expect(again).toBe(0);
  });
});

describe('LocalRateLimiter: property', () => {
  it('over any sequence of request times, allowed ≤ maxTokens + tokens refilled in the elapsed time,', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 50, max: 5_000 }),
        fc.array(fc.integer({ min: 0, max: 3_000 }), { minLength: 1, maxLength: 200 }),
        (maxTokens, tokensPerFill, fillMs, gaps) => {
          const { limiter, clock } = limiterAt(5_000);
          limiter.begin();
          const b = limiter.bucket(`p${maxTokens}/${tokensPerFill}/${fillMs}`, { maxTokens, tokensPerFill, fillIntervalMs: fillMs }).ptr;
          const start = clock.now;
          let allowed = 0;
          for (const gap of gaps) {
            clock.now += gap;
            if (limiter.consume(b, clock.now)) allowed++;
            const refilled = Math.floor(((clock.now - start) * tokensPerFill) / fillMs);
            if (allowed > maxTokens + refilled) return false;
          }
          limiter.begin();
          limiter.commit();
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
