// The model's endpoint hash key: Envoy's printing of an endpoint address, which places it on
// the ring and in the Maglev table.
import { describe, test, expect } from 'vitest';
import { endpointHashKey } from '../../host/model/hash-lb.js';

describe('endpointHashKey', () => {
  test('endpointHashKey prints addresses as Envoy does', () => {
    expect(endpointHashKey('10.0.0.1', 8080)).toBe('10.0.0.1:8080');
    expect(endpointHashKey('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(endpointHashKey('[fd00::1]', 80)).toBe('[fd00::1]:80');
  });
});
