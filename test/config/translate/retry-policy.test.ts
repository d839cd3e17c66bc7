// VirtualService retries → the model's retry policy: Istio's defaults, attempts, retryOn
// conditions and status codes, durations, and the refused conditions with stable codes.
import { describe, test, expect } from 'vitest';
import { retryPolicyFromIstio } from '../../../host/config/translate/retry-policy.js';

describe('Istio retries → policy', () => {
  test('no retries block: current Istio default (2 retries, no retriable status code)', () => {
    expect(retryPolicyFromIstio(undefined)).toEqual({
      retries: 2,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      retriableStatusCodes: [],
      perTryTimeoutMs: 0,
      backoffBaseMs: 25,
      backoffMaxMs: 250,
    });
  });

  test('attempts 0 (or absent in a retries block) disables retries', () => {
    expect(retryPolicyFromIstio({ attempts: 0 }).retries).toBe(0);
    expect(retryPolicyFromIstio({ perTryTimeout: '2s' }).retries).toBe(0);
  });

  test('attempts without retryOn keeps the default conditions; perTryTimeout and backoff parsed', () => {
    const p = retryPolicyFromIstio({ attempts: 3, perTryTimeout: '2s', backoff: '100ms' });
    expect(p).toMatchObject({ retries: 3, perTryTimeoutMs: 2000, backoffBaseMs: 100, backoffMaxMs: 1000 });
    expect(p.retryOn).toContain('connect-failure');
  });

  test('numeric codes in retryOn become retriable status codes, adding retriable-status-codes', () => {
    const p = retryPolicyFromIstio({ attempts: 2, retryOn: 'gateway-error, 503 ,connect-failure,429' });
    expect(p.retryOn).toEqual(['gateway-error', 'connect-failure', 'retriable-status-codes']);
    expect(p.retriableStatusCodes).toEqual([503, 429]);
  });

  test('unknown conditions are refused with stable codes', () => {
    expect(() => retryPolicyFromIstio({ attempts: 1, retryOn: '5xx,bogus' }, 'spec.http[0].retries'))
      .toThrow(expect.objectContaining({ code: 'invalid_retry_on', message: expect.stringContaining('spec.http[0].retries.retryOn: "bogus"') }));
    // 999 is not a status Go knows, so Istio treats it as a (invalid) condition name.
    expect(() => retryPolicyFromIstio({ attempts: 1, retryOn: '999' })).toThrow(expect.objectContaining({ code: 'invalid_retry_on' }));
    expect(() => retryPolicyFromIstio({ attempts: 1, retryOn: 'retriable-headers' })).toThrow(expect.objectContaining({ code: 'unsupported_retry_on' }));
  });
});
