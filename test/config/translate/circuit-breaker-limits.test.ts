// DestinationRule connectionPool → the model's circuit-breaker limits: Istio's 2^32-1 defaults.
import { describe, test, expect } from 'vitest';
import { circuitBreakerLimitsFromIstio } from '../../../host/config/translate/circuit-breaker-limits.js';

describe('Istio connectionPool → limits', () => {
  test("unset limits are Istio's 2^32-1; maxRequestsPerConnection 0 is unlimited", () => {
    expect(circuitBreakerLimitsFromIstio(undefined)).toEqual({
      maxConnections: 0xffffffff, maxPendingRequests: 0xffffffff, maxRequests: 0xffffffff, maxRetries: 0xffffffff, maxRequestsPerConnection: 0,
    });
  });

  test('seed 002 productpage values', () => {
    expect(circuitBreakerLimitsFromIstio({ tcp: { maxConnections: 50 }, http: { maxRetries: 3, maxRequestsPerConnection: 50, http1MaxPendingRequests: 25, http2MaxRequests: 5 } }))
      .toEqual({ maxConnections: 50, maxPendingRequests: 25, maxRequests: 5, maxRetries: 3, maxRequestsPerConnection: 50 });
  });
});
