// The edit distance behind "did you mean …?": checked on known cases and as a metric.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { editDistance, nearestName } from '../../host/config/nearest-name.js';

describe('editDistance (optimal string alignment)', () => {
  test('insertions, deletions, substitutions and swapped neighbours cost 1 each', () => {
    expect(editDistance('virtualservce', 'virtualservice')).toBe(1);
    expect(editDistance('gatway', 'gateway')).toBe(1);
    expect(editDistance('gateqay', 'gateway')).toBe(1);
    expect(editDistance('gaetway', 'gateway')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  test('property: zero exactly for equal words, symmetric, bounded by the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('nearestName', () => {
  const KINDS = ['Gateway', 'VirtualService', 'DestinationRule', 'ServiceEntry', 'Service'];

  test('case-insensitive; a quarter of the letters may be wrong (1 to 3)', () => {
    expect(nearestName('virtualservice', KINDS)).toBe('VirtualService');
    expect(nearestName('DestnationRul', KINDS)).toBe('DestinationRule');
    expect(nearestName('Servce', KINDS)).toBe('Service');
    expect(nearestName('Gatewy', KINDS)).toBe('Gateway');
    expect(nearestName('Route', KINDS)).toBeNull();
    expect(nearestName('Serv', KINDS)).toBeNull();
  });
});
