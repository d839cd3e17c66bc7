// Circuit breaker through the Wasm core: Istio's defaults, each resource's overflow counter,
// Closed/Open states, releases, underflow refused, maxRequestsPerConnection.
import { describe, test, expect } from 'vitest';
import { istioCircuitBreakerLimits } from '../../../host/model/istio-defaults.js';
import { cluster } from '../../helpers/upstream-core.js';

describe('circuit breaker', () => {
  test('fresh cluster: Istio defaults, everything closed', () => {
    const { cs } = cluster(1, 'cb-defaults');
    for (const k of ['connection', 'pending', 'request', 'retry'] as const) {
      expect(cs.breaker.state(k)).toBe('closed');
      expect(cs.breaker.remaining(k)).toBe(0xffffffff);
      expect(cs.breaker.tryAcquire(k)).toBe(true);
      expect(cs.breaker.release(k)).toBe(0);
    }
    expect(cs.breaker.connectionReusable(1_000_000)).toBe(true);
  });

  test('a release with nothing held is refused as underflow, naming the call and the kind', () => {
    const { cs } = cluster(1, 'cb-underflow');
    expect(() => cs.breaker.release('request')).toThrow(expect.objectContaining({ code: 'underflow', message: expect.stringMatching(/^cb_release request: /) }));
    expect(cs.breaker.tryAcquire('request')).toBe(true);
    expect(cs.breaker.release('request')).toBe(0);
  });

  test('each resource overflows at its limit into its Envoy counter, and releases reopen it', () => {
    const { cs } = cluster(1, 'cb-limits');
    cs.breaker.configure({ maxConnections: 2, maxPendingRequests: 1, maxRequests: 3, maxRetries: 1, maxRequestsPerConnection: 0 });
    expect([cs.breaker.tryAcquire('connection'), cs.breaker.tryAcquire('connection'), cs.breaker.tryAcquire('connection')]).toEqual([true, true, false]);
    expect(cs.breaker.state('connection')).toBe('open');
    expect(cs.stats().upstream_cx_overflow).toBe(1);
    expect(cs.stats()['circuit_breakers.default.cx_open']).toBe(1);
    expect(cs.breaker.release('connection')).toBe(1);
    expect(cs.breaker.state('connection')).toBe('closed');
    expect(cs.breaker.tryAcquire('connection')).toBe(true);

    expect([cs.breaker.tryAcquire('pending'), cs.breaker.tryAcquire('pending')]).toEqual([true, false]);
    for (let i = 0; i < 3; i++) expect(cs.breaker.tryAcquire('request')).toBe(true);
    expect(cs.breaker.tryAcquire('request')).toBe(false);
    // Envoy counts max_requests overflow as upstream_rq_pending_overflow too.
    expect(cs.stats().upstream_rq_pending_overflow).toBe(2);
    expect(cs.breaker.remaining('request')).toBe(0);

    expect([cs.breaker.tryAcquire('retry'), cs.breaker.tryAcquire('retry')]).toEqual([true, false]);
    const s = cs.stats();
    expect(s.upstream_rq_retry_overflow).toBe(1);
    expect(s.upstream_rq_retry).toBe(1);
    expect(s['circuit_breakers.default.remaining_retries']).toBe(0);
  });

  test('lowering a limit below the count: open, remaining 0, releases walk back down', () => {
    const { cs } = cluster(1, 'cb-lower');
    for (let i = 0; i < 5; i++) cs.breaker.tryAcquire('request');
    cs.breaker.configure({ ...istioCircuitBreakerLimits(), maxRequests: 2 });
    expect(cs.breaker.state('request')).toBe('open');
    expect(cs.breaker.remaining('request')).toBe(0);
    for (let i = 4; i >= 2; i--) expect(cs.breaker.release('request')).toBe(i);
    expect(cs.breaker.state('request')).toBe('open');
    expect(cs.breaker.release('request')).toBe(1);
    expect(cs.breaker.state('request')).toBe('closed');
  });

  test('a limit of 0 allows nothing; release without acquire is an underflow and changes nothing', () => {
    const { cs } = cluster(1, 'cb-zero');
    cs.breaker.configure({ ...istioCircuitBreakerLimits(), maxPendingRequests: 0 });
    expect(cs.breaker.tryAcquire('pending')).toBe(false);
    expect(() => cs.breaker.release('pending')).toThrow(expect.objectContaining({ code: 'underflow' }));
    expect(cs.breaker.active('pending')).toBe(0);
  });

  test('maxRequestsPerConnection: 1 disables keep-alive, N allows N requests', () => {
    const { cs } = cluster(1, 'cb-per-conn');
    cs.breaker.configure({ ...istioCircuitBreakerLimits(), maxRequestsPerConnection: 1 });
    expect(cs.breaker.connectionReusable(1)).toBe(false);
    cs.breaker.configure({ ...istioCircuitBreakerLimits(), maxRequestsPerConnection: 50 });
    expect(cs.breaker.connectionReusable(49)).toBe(true);
    expect(cs.breaker.connectionReusable(50)).toBe(false);
  });
});
