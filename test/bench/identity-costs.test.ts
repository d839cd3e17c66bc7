// Smoke test of the identity cost measurement: it runs at a tiny count and reports sane figures.
// Not a timed test: no figure is compared with a threshold.
import { describe, expect, it } from 'vitest';
import { measureIdentityCosts } from '../../bench/identity-costs.js';

describe('bench: identity costs', () => {
  it('measures CSR, signing and a whole issuance for each key type', async () => {
    const costs = await measureIdentityCosts(2);
    expect(costs.perKey.map((k) => k.keyAlgorithm)).toEqual(['ecdsa-p256', 'rsa-2048']);
    for (const k of costs.perKey) {
      expect(k.csrMs).toBeGreaterThan(0);
      expect(k.signMs).toBeGreaterThan(0);
    }
    expect(costs.issuance.medianMs).toBeGreaterThan(0);
    expect(costs.issuance.maxMs).toBeGreaterThanOrEqual(costs.issuance.medianMs);
  });
});
