// Retry decisions through the Wasm core: Istio's default policy, each retryOn condition,
// attempts exhausted, the never-retry cases, corrupted records, backoff bounds and determinism
// (Istio's translation: test/config/translate/retry-policy.test.ts; RetryState: test/router).
import { describe, test, expect } from 'vitest';
import { istioDefaultRetryPolicy } from '../../../host/model/istio-defaults.js';
import type { AttemptResult, RetryPolicy } from '../../../host/core/upstream/retry.js';
import type { RetryPolicySpec, RetryOnName } from '../../../host/model/retry-policy.js';
import { core, cluster, loadRetryPolicy } from '../../helpers/upstream-core.js';
import fc from 'fast-check';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

function policy(retryOn: RetryOnName[], extra: Partial<RetryPolicySpec> = {}): RetryPolicy {
  return loadRetryPolicy({ retries: 3, retryOn, retriableStatusCodes: [], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250, ...extra }).policy;
}

const status = (s: number, more: Partial<AttemptResult> = {}): AttemptResult => ({ outcome: 'Response', status: s, ...more });

describe('retry decisions', () => {
  test('5xx: any 5xx and every reset kind, not 4xx', () => {
    const p = policy(['5xx']);
    for (const s of [500, 501, 502, 503, 504, 599]) expect(p.decide(1, status(s))).toBe('retry');
    for (const s of [200, 404, 409, 429]) expect(p.decide(1, status(s))).toBe('not_retriable');
    for (const o of ['ConnectFailure', 'ResetBeforeHeaders', 'PerTryTimeout', 'RefusedStream'] as const) expect(p.decide(1, { outcome: o })).toBe('retry');
  });

  test('gateway-error: only 502/503/504, plus resets', () => {
    const p = policy(['gateway-error']);
    expect([500, 501, 502, 503, 504, 505].map((s) => p.decide(1, status(s)))).toEqual(['not_retriable', 'not_retriable', 'retry', 'retry', 'retry', 'not_retriable']);
    expect(p.decide(1, { outcome: 'PerTryTimeout' })).toBe('retry');
  });

  test('reset: resets and timeouts, never a status', () => {
    const p = policy(['reset']);
    expect(p.decide(1, status(503))).toBe('not_retriable');
    expect(p.decide(1, { outcome: 'ResetBeforeHeaders' })).toBe('retry');
    expect(p.decide(1, { outcome: 'PerTryTimeout' })).toBe('retry');
    expect(p.decide(1, { outcome: 'ConnectFailure' })).toBe('retry');
  });

  test('connect-failure and refused-stream match only their own reset kind', () => {
    const cf = policy(['connect-failure']);
    expect(cf.decide(1, { outcome: 'ConnectFailure' })).toBe('retry');
    expect(cf.decide(1, { outcome: 'ResetBeforeHeaders' })).toBe('not_retriable');
    expect(cf.decide(1, { outcome: 'PerTryTimeout' })).toBe('not_retriable');
    const rs = policy(['refused-stream']);
    expect(rs.decide(1, { outcome: 'RefusedStream' })).toBe('retry');
    expect(rs.decide(1, { outcome: 'ConnectFailure' })).toBe('not_retriable');
  });

  test('retriable-4xx is 409 only; retriable-status-codes uses the list', () => {
    const p = policy(['retriable-4xx']);
    expect(p.decide(1, status(409))).toBe('retry');
    expect(p.decide(1, status(429))).toBe('not_retriable');
    const codes = policy(['retriable-status-codes'], { retriableStatusCodes: [429, 503] });
    expect(codes.decide(1, status(429))).toBe('retry');
    expect(codes.decide(1, status(503))).toBe('retry');
    expect(codes.decide(1, status(502))).toBe('not_retriable');
    // The condition without codes retries nothing (current Istio's default).
    expect(policy(['retriable-status-codes']).decide(1, status(503))).toBe('not_retriable');
  });

  test('gRPC conditions read grpc-status from the response', () => {
    const p = policy(['cancelled', 'deadline-exceeded', 'resource-exhausted', 'unavailable', 'internal']);
    for (const g of [1, 4, 8, 13, 14]) expect(p.decide(1, status(200, { grpcStatus: g }))).toBe('retry');
    for (const g of [0, 2, 5]) expect(p.decide(1, status(200, { grpcStatus: g }))).toBe('not_retriable');
    expect(policy(['unavailable']).decide(1, status(200, { grpcStatus: 1 }))).toBe('not_retriable');
  });

  test("Istio's default policy: connect failure and refused stream retried, 503 and resets not", () => {
    const p = loadRetryPolicy(istioDefaultRetryPolicy()).policy;
    expect(p.decide(1, { outcome: 'ConnectFailure' })).toBe('retry');
    expect(p.decide(1, { outcome: 'RefusedStream' })).toBe('retry');
    expect(p.decide(1, status(200, { grpcStatus: 14 }))).toBe('retry');
    expect(p.decide(1, status(503))).toBe('not_retriable');
    expect(p.decide(1, { outcome: 'ResetBeforeHeaders' })).toBe('not_retriable');
    expect(p.decide(1, { outcome: 'PerTryTimeout' })).toBe('not_retriable');
    // 2 retries: attempts 1 and 2 may be retried, attempt 3 is the last.
    expect(p.decide(2, { outcome: 'ConnectFailure' })).toBe('retry');
    expect(p.decide(3, { outcome: 'ConnectFailure' })).toBe('limit_exceeded');
  });

  test('attempts: 0 disables; limit exceeded only for a retriable outcome', () => {
    const off = loadRetryPolicy({ ...istioDefaultRetryPolicy(), retries: 0 }).policy;
    expect(off.decide(1, { outcome: 'ConnectFailure' })).toBe('disabled');
    const p = policy(['5xx'], { retries: 1 });
    expect(p.decide(1, status(503))).toBe('retry');
    expect(p.decide(2, status(503))).toBe('limit_exceeded');
    expect(p.decide(2, status(200))).toBe('not_retriable');
  });

  test('never after downstream bytes, nor with a streamed body, nor past the route timeout', () => {
    const p = policy(['5xx', 'reset']);
    expect(p.decide(1, status(503, { responseStarted: true }))).toBe('response_started');
    expect(p.decide(1, { outcome: 'ResetAfterHeaders' })).toBe('response_started');
    expect(p.decide(1, status(503, { bodyNotBuffered: true }))).toBe('body_not_buffered');
    expect(p.decide(1, { outcome: 'ConnectFailure', bodyNotBuffered: true })).toBe('body_not_buffered');
    expect(p.decide(1, status(503, { elapsedMs: 1000, routeTimeoutMs: 1000 }))).toBe('route_timeout');
    expect(p.decide(1, status(503, { elapsedMs: 999, routeTimeoutMs: 1000 }))).toBe('retry');
    expect(p.decide(1, status(503, { elapsedMs: 1e9, routeTimeoutMs: 0 }))).toBe('retry');
    expect(p.decide(1, status(503, { rateLimited: true }))).toBe('rate_limited');
    expect(p.decide(1, { outcome: 'Overflow' })).toBe('not_retriable');
  });

  test('bad calls are refused by the core with stable codes', () => {
    const { set, policy: p } = loadRetryPolicy({ retries: 3, retryOn: ['5xx'], retriableStatusCodes: [], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250 });
    expect(() => p.decide(0, status(503))).toThrow(expect.objectContaining({ code: 'bad_value' }));
    expect(() => loadRetryPolicy({ ...p.spec, retryOn: [...p.spec.retryOn], retriableStatusCodes: [], backoffBaseMs: 0 }))
      .toThrow(expect.objectContaining({ code: 'bad_value' }));
    set.free();
    expect(() => p.decide(1, status(503))).toThrow(expect.objectContaining({ code: 'released' }));
  });
});

/** The raw retry exports, for records the host encoder would never write. */
type Raw = Record<string, (...a: number[]) => number>;

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts): a policy record
// retry_policy_check accepts drives retry_decide and retry_backoff (whose interval loop ends
// only because the check holds 0 < base <= max) to in-range answers, never a trap or a hang.
const recordCorruption = wasmProperty(import.meta.url, 'random corruption of a retry policy record', () => {
  const c = core();
  const x = c.exports as unknown as Raw;
  const good = loadRetryPolicy({ retries: 3, retryOn: ['5xx', 'retriable-status-codes', 'unavailable'], retriableStatusCodes: [409, 429], perTryTimeoutMs: 100, backoffBaseMs: 25, backoffMaxMs: 250 }, c).policy;
  const bytes = c.u8.slice(good.address, good.address + x.upstream_layout!(6));
  const cs = x.alloc!(x.cluster_state_size!(1));
  x.cluster_state_init!(cs, 1, 7);
  return [fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.oneof(fc.nat(255), fc.constantFrom(0, 1, 0x80, 0xff))), { minLength: 1, maxLength: 6 }), (edits: Array<[number, number]>) => {
    const b = bytes.slice();
    for (const [at, v] of edits) b[at] = v;
    const p = x.alloc!(b.length);
    c.u8.set(b, p);
    try {
      const status = x.retry_policy_check!(p);
      expect([0, -1, -6]).toContain(status); // Ok, BadMagic, BadValue
      if (status !== 0) return;
      const max = new DataView(b.buffer).getUint32(20, true);
      for (const outcome of [0, 1, 2, 3, 4, 5, 6]) {
        for (const attempt of [1, 2, 5, 0xffffffff]) {
          const d = x.retry_decide!(p, attempt, outcome, outcome === 0 ? 503 : 0, outcome === 0 ? 14 : -1, attempt & 7, 10, 100);
          expect(d >= 0 && d <= 7).toBe(true);
        }
      }
      for (const retry of [1, 2, 3, 10, 40, 0xffffffff]) {
        const ms = x.retry_backoff!(cs, p, retry);
        expect(ms >= 0 && ms < max).toBe(true);
      }
    } finally {
      x.free!(p);
    }
  }];
}, { numRuns: 500 });

describe('retry_policy_check: random corruption', () => {
  test('property: a corrupted record is refused, or decides and backs off in range without trapping or hanging', () => recordCorruption.check());
});

describe('backoff', () => {
  test("Envoy's intervals 25, 50, 100, 200, 250, 250 ms: every wait in [0, interval)", () => {
    const { cs } = cluster(1, 'backoff-bounds', 12345);
    const p = policy(['5xx']);
    const intervals = [25, 50, 100, 200, 250, 250, 250];
    for (let retry = 1; retry <= intervals.length; retry++) {
      let max = 0;
      let min = Infinity;
      for (let i = 0; i < 2000; i++) {
        const ms = cs.backoff(p, retry);
        expect(Number.isInteger(ms)).toBe(true);
        max = Math.max(max, ms);
        min = Math.min(min, ms);
      }
      expect(min).toBe(0);
      expect(max).toBe(intervals[retry - 1]! - 1);
    }
  });

  test('the same seed gives the same waits; another seed others', () => {
    const p = policy(['5xx']);
    const draw = (seed: number) => {
      const { cs } = cluster(1, `seeded-${seed}-${Math.random()}`, seed);
      return Array.from({ length: 20 }, (_, i) => cs.backoff(p, 1 + (i % 5)));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });
});

