// The retry bookkeeping of one request over the core's decisions: attempt count, the circuit
// breaker's retry unit held and released, retry stats, and overflow at maxRetries.
import { describe, test, expect } from 'vitest';
import type { AttemptResult, RetryPolicy } from '../../host/core/upstream/retry.js';
import { RetryState } from '../../host/router/retry-state.js';
import type { RetryPolicySpec, RetryOnName } from '../../host/model/retry-policy.js';
import { cluster, loadRetryPolicy } from '../helpers/upstream-core.js';

function policy(retryOn: RetryOnName[], extra: Partial<RetryPolicySpec> = {}): RetryPolicy {
  return loadRetryPolicy({ retries: 3, retryOn, retriableStatusCodes: [], perTryTimeoutMs: 0, backoffBaseMs: 25, backoffMaxMs: 250, ...extra }).policy;
}

const status = (s: number, more: Partial<AttemptResult> = {}): AttemptResult => ({ outcome: 'Response', status: s, ...more });

describe('RetryState', () => {
  test('attempt count advances per retry; retry units held and released; stats counted', () => {
    const { cs } = cluster(2, 'retry-state');
    const p = policy(['5xx'], { retries: 2 });
    const r = new RetryState(p, cs);
    expect(r.attempt).toBe(1);
    expect(r.onAttemptEnd(status(503))).toBe('retry');
    expect(r.backoffMs).toBeGreaterThanOrEqual(0);
    expect(r.backoffMs).toBeLessThan(25);
    expect(r.attempt).toBe(2);
    expect(cs.breaker.active('retry')).toBe(1);
    expect(r.onAttemptEnd(status(503))).toBe('retry');
    expect(r.attempt).toBe(3);
    expect(cs.breaker.active('retry')).toBe(1);
    expect(r.onAttemptEnd(status(503))).toBe('limit_exceeded');
    // A decision other than retry has no backoff (the last retry's is not left behind).
    expect(r.backoffMs).toBe(0);
    expect(cs.breaker.active('retry')).toBe(0);
    const s = cs.stats();
    expect(s.upstream_rq_retry).toBe(2);
    expect(s.upstream_rq_retry_limit_exceeded).toBe(1);

    const ok = new RetryState(p, cs);
    ok.onAttemptEnd(status(502));
    expect(ok.onAttemptEnd(status(200))).toBe('not_retriable');
    expect(cs.stats().upstream_rq_retry_success).toBe(1);
    expect(cs.breaker.active('retry')).toBe(0);
  });

  test('maxRetries: a retry beyond the limit overflows (upstream_rq_retry_overflow), finish() releases', () => {
    const { cs } = cluster(2, 'retry-overflow');
    cs.breaker.configure({ maxConnections: 10, maxPendingRequests: 10, maxRequests: 10, maxRetries: 1, maxRequestsPerConnection: 0 });
    const p = policy(['5xx']);
    const a = new RetryState(p, cs);
    const b = new RetryState(p, cs);
    expect(a.onAttemptEnd(status(503))).toBe('retry');
    expect(b.onAttemptEnd(status(503))).toBe('overflow');
    expect(b.attempt).toBe(1);
    expect(cs.stats().upstream_rq_retry_overflow).toBe(1);
    a.finish();
    expect(cs.breaker.active('retry')).toBe(0);
    expect(b.onAttemptEnd(status(503))).toBe('retry');
    b.finish();
    a.finish();
    expect(cs.breaker.active('retry')).toBe(0);
  });
});

describe('RetryState begun again (a reused router keeps one)', () => {
  test('begin() is a new RetryState: attempt 1, no backoff, and a retry unit still held goes back', () => {
    const { cs } = cluster(2, 'retry-state-begin');
    const p = policy(['5xx'], { retries: 2 });
    const r = new RetryState(p, cs);
    expect(r.onAttemptEnd(status(503))).toBe('retry');
    expect(cs.breaker.active('retry')).toBe(1);
    r.begin(p, cs);
    expect(cs.breaker.active('retry')).toBe(0);
    expect(r.attempt).toBe(1);
    expect(r.backoffMs).toBe(0);
    // The same decisions as a new one from here.
    const n = new RetryState(p, cs);
    const seq = [503, 503, 503];
    const a = seq.map((s) => r.onAttemptEnd(status(s)));
    r.finish();
    const b = seq.map((s) => n.onAttemptEnd(status(s)));
    n.finish();
    expect(a).toEqual(b);
    expect(cs.breaker.active('retry')).toBe(0);
  });
});
