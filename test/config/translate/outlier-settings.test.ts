// DestinationRule outlierDetection → the model's outlier settings: Envoy's defaults as Istio
// leaves them, explicit values, detectors turned off, the ignored consecutiveErrors.
import { describe, test, expect } from 'vitest';
import { outlierSettingsFromIstio } from '../../../host/config/translate/outlier-settings.js';

describe('Istio outlierDetection → settings', () => {
  test('defaults: 5 consecutive 5xx enforced, gateway detected only, 10 s, 30 s, 10 %, 0 %', () => {
    expect(outlierSettingsFromIstio({})).toEqual({
      consecutive5xx: 5, enforceConsecutive5xx: true,
      consecutiveGatewayFailure: 5, enforceConsecutiveGatewayFailure: false,
      consecutiveLocalOriginFailure: 5, enforceConsecutiveLocalOriginFailure: true,
      splitExternalLocalOriginErrors: false, alwaysEjectOneHost: false,
      maxEjectionPercent: 10, minHealthPercent: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000,
    });
    expect(outlierSettingsFromIstio(undefined)).toBeNull();
  });

  test('explicit values; 0 disables a detector; the deprecated consecutiveErrors is ignored (seed 002)', () => {
    const s = outlierSettingsFromIstio({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 3, interval: '30s', baseEjectionTime: '10m', maxEjectionPercent: 50, minHealthPercent: 40 })!;
    expect(s).toMatchObject({ consecutive5xx: 0, enforceConsecutive5xx: false, consecutiveGatewayFailure: 3, enforceConsecutiveGatewayFailure: true, intervalMs: 30_000, baseEjectionTimeMs: 600_000, maxEjectionTimeMs: 600_000, maxEjectionPercent: 50, minHealthPercent: 40 });
    const seed = outlierSettingsFromIstio({ consecutiveErrors: 5, interval: '30s', baseEjectionTime: '1m', maxEjectionPercent: 50 })!;
    expect(seed).toMatchObject({ consecutive5xx: 5, enforceConsecutive5xx: true, enforceConsecutiveGatewayFailure: false, baseEjectionTimeMs: 60_000 });
    expect(outlierSettingsFromIstio({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: { value: 2 } })).toMatchObject({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 2 });
    expect(() => outlierSettingsFromIstio({ interval: 'soon' }, 'spec.trafficPolicy.outlierDetection'))
      .toThrow(expect.objectContaining({ code: 'invalid_setting', message: expect.stringContaining('spec.trafficPolicy.outlierDetection.interval') }));
  });
});
