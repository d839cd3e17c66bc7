// Outlier detection through the Wasm core on a fake clock: ejection after N consecutive 5xx,
// reset by a success, return after the ejection time (only at a tick), growing ejection time,
// maxEjectionPercent (Envoy's rounding: 10 % of 3 hosts ejects none), gateway and local-origin
// detectors, panic at minHealthPercent, Istio's defaults.
import { describe, test, expect } from 'vitest';
import { envoyOutlierDefaults } from '../../../host/model/istio-defaults.js';
import type { OutlierSettings } from '../../../host/model/outlier-settings.js';
import { cluster, FakeClock } from '../../helpers/upstream-core.js';

const base = (over: Partial<OutlierSettings> = {}): OutlierSettings => ({
  ...envoyOutlierDefaults(),
  ...over,
});

/** `n` hosts, outlier detection with Istio defaults but maxEjectionPercent 100 unless given. */
function detector(n: number, over: Partial<OutlierSettings> = {}) {
  const c = cluster(n, `od-${Math.random()}`);
  c.cs.outlier.configure(base({ maxEjectionPercent: 100, ...over }));
  return c;
}

describe('report', () => {
  test('a slot the cluster does not have is refused with the slot named (the message is built only then)', () => {
    const { cs } = detector(2);
    expect(() => cs.outlier.report(999, 500, new FakeClock().now)).toThrow(/outlier_report slot 999/);
  });
});

describe('consecutive 5xx', () => {
  test('ejects on the 5th consecutive 5xx; a success in between resets the count', () => {
    const { cs, slots } = detector(4);
    const clock = new FakeClock();
    const e = slots[1]!;
    for (let i = 0; i < 4; i++) expect(cs.outlier.report(e, 500, clock.now)).toBe(false);
    expect(cs.outlier.report(e, 200, clock.now)).toBe(false);
    for (let i = 0; i < 4; i++) expect(cs.outlier.report(e, 503, clock.now)).toBe(false);
    expect(cs.outlier.isEjected(e)).toBe(false);
    expect(cs.outlier.report(e, 500, clock.now)).toBe(true);
    expect(cs.outlier.isEjected(e)).toBe(true);
    expect(cs.outlier.ejectionsActive).toBe(1);
    const s = cs.stats();
    expect(s['outlier_detection.ejections_detected_consecutive_5xx']).toBe(1);
    expect(s['outlier_detection.ejections_enforced_consecutive_5xx']).toBe(1);
    expect(s['outlier_detection.ejections_enforced_total']).toBe(1);
    expect(s['outlier_detection.ejections_total']).toBe(1);
    expect(s['outlier_detection.ejections_active']).toBe(1);
    // 4xx counts as success for the 5xx detector.
    const other = slots[2]!;
    for (let i = 0; i < 4; i++) cs.outlier.report(other, 502, clock.now);
    cs.outlier.report(other, 404, clock.now);
    expect(cs.outlier.report(other, 502, clock.now)).toBe(false);
  });

  test('returns after baseEjectionTime, only at a tick; the second ejection lasts 2 × base', () => {
    const { cs, slots } = detector(2);
    const clock = new FakeClock();
    const e = slots[0]!;
    const eject = () => {
      for (let i = 0; i < 5; i++) cs.outlier.report(e, 500, clock.now);
      expect(cs.outlier.isEjected(e)).toBe(true);
    };
    eject(); // t = 0, multiplier 1 → 30 s
    expect(cs.outlier.tick(clock.advance(10_000))).toBe(0);
    expect(cs.outlier.tick(clock.advance(10_000))).toBe(0);
    clock.advance(9_999);
    expect(cs.outlier.tick(clock.now)).toBe(0); // 29.999 s
    expect(cs.outlier.isEjected(e)).toBe(true);
    expect(cs.outlier.tick(clock.advance(1))).toBe(1); // 30 s
    expect(cs.outlier.isEjected(e)).toBe(false);
    expect(cs.outlier.ejectionsActive).toBe(0);

    clock.advance(5_000); // t = 35 s, before the next tick: multiplier still 1 → 2
    eject();
    expect(cs.endpoints()[0]).toMatchObject({ state: 'ejected', ejectionMultiplier: 2, timesEjected: 2 });
    for (let t = 45_000; t < 95_000; t += 10_000) {
      clock.now = t;
      expect(cs.outlier.tick(clock.now)).toBe(0);
    }
    clock.now = 95_000; // 60 s after the ejection at 35 s
    expect(cs.outlier.tick(clock.now)).toBe(1);
  });

  test('healthy intervals lower the multiplier again (Envoy), so a later ejection is short', () => {
    const { cs, slots } = detector(2);
    const clock = new FakeClock();
    const e = slots[0]!;
    const eject = () => {
      for (let i = 0; i < 5; i++) cs.outlier.report(e, 500, clock.now);
    };
    eject();
    clock.now = 30_000;
    cs.outlier.tick(clock.now); // unejected, multiplier stays 1 (0 ms since unejection)
    expect(cs.endpoints()[0]!.ejectionMultiplier).toBe(1);
    clock.now = 40_000;
    cs.outlier.tick(clock.now); // one interval healthy → 0
    expect(cs.endpoints()[0]!.ejectionMultiplier).toBe(0);
    clock.now = 41_000;
    eject(); // multiplier 1 again → 30 s
    clock.now = 71_000;
    expect(cs.outlier.tick(clock.now)).toBe(1);
  });

  test('unejection resets every consecutive counter', () => {
    const { cs, slots } = detector(2, { consecutiveGatewayFailure: 10, enforceConsecutiveGatewayFailure: true });
    const e = slots[0]!;
    for (let i = 0; i < 5; i++) cs.outlier.report(e, 503, 0);
    expect(cs.endpoints()[0]).toMatchObject({ state: 'ejected', consecutive5xx: 0, consecutiveGatewayFailure: 5 });
    cs.outlier.tick(30_000);
    expect(cs.endpoints()[0]).toMatchObject({ state: 'healthy', consecutive5xx: 0, consecutiveGatewayFailure: 0 });
  });

  test('ejection time is capped at max(300 s, base)', () => {
    const { cs, slots } = detector(2, { baseEjectionTimeMs: 100_000, maxEjectionTimeMs: 300_000 });
    const e = slots[0]!;
    let t = 0;
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < 5; i++) cs.outlier.report(e, 500, t);
      const expected = Math.min(100_000 * round, 300_000);
      expect(cs.outlier.tick(t + expected - 1)).toBe(0);
      t += expected;
      expect(cs.outlier.tick(t)).toBe(1);
    }
    // The multiplier stops at 4 (4 × 100 s >= 300 s + 100 s).
    expect(cs.endpoints()[0]!.ejectionMultiplier).toBe(4);
  });
});

describe('maxEjectionPercent and panic', () => {
  test('10 % of 3 hosts ejects none (Envoy: 33 % > 10 %), counted as overflow', () => {
    const { cs, slots } = detector(3, { maxEjectionPercent: 10 });
    for (let i = 0; i < 5; i++) cs.outlier.report(slots[0]!, 500, 0);
    expect(cs.outlier.isEjected(slots[0]!)).toBe(false);
    const s = cs.stats();
    expect(s['outlier_detection.ejections_overflow']).toBe(1);
    expect(s['outlier_detection.ejections_detected_consecutive_5xx']).toBe(1);
    expect(s['outlier_detection.ejections_enforced_total']).toBe(0);
    // Envoy's always_eject_one_host lets the first one go.
    cs.outlier.configure(base({ maxEjectionPercent: 10, alwaysEjectOneHost: true }));
    for (let i = 0; i < 5; i++) cs.outlier.report(slots[0]!, 500, 0);
    expect(cs.outlier.isEjected(slots[0]!)).toBe(true);
    for (let i = 0; i < 5; i++) cs.outlier.report(slots[1]!, 500, 0);
    expect(cs.outlier.isEjected(slots[1]!)).toBe(false);
  });

  test('50 % of 4 hosts: two ejected, the third overflows', () => {
    const { cs, slots } = detector(4, { maxEjectionPercent: 50 });
    const ejected = [0, 1, 2].map((k) => {
      for (let i = 0; i < 5; i++) cs.outlier.report(slots[k]!, 500, 0);
      return cs.outlier.isEjected(slots[k]!);
    });
    expect(ejected).toEqual([true, true, false]);
    expect(cs.outlier.ejectionsActive).toBe(2);
    expect(cs.stats()['outlier_detection.ejections_overflow']).toBe(1);
  });

  test('panic when the healthy share drops strictly below minHealthPercent; 0 % never panics', () => {
    const { cs, slots } = detector(4, { minHealthPercent: 60 });
    expect(cs.outlier.panic).toBe(false);
    for (let i = 0; i < 5; i++) cs.outlier.report(slots[0]!, 500, 0);
    expect(cs.outlier.panic).toBe(false); // 75 % healthy
    for (let i = 0; i < 5; i++) cs.outlier.report(slots[1]!, 500, 0);
    expect(cs.outlier.panic).toBe(true); // 50 % < 60 %
    cs.outlier.configure(base({ maxEjectionPercent: 100, minHealthPercent: 50 }));
    expect(cs.outlier.panic).toBe(false); // 50 % is not below 50 %
    cs.outlier.configure(base({ maxEjectionPercent: 100, minHealthPercent: 0 }));
    for (let k = 2; k < 4; k++) for (let i = 0; i < 5; i++) cs.outlier.report(slots[k]!, 500, 0);
    expect(cs.outlier.ejectionsActive).toBe(4);
    expect(cs.outlier.panic).toBe(false);
  });
});

describe('gateway and local-origin detectors', () => {
  test("Istio default: gateway failures are detected but not enforced; 5xx still ejects", () => {
    const { cs, slots } = detector(2);
    for (let i = 0; i < 4; i++) cs.outlier.report(slots[0]!, 502, 0);
    expect(cs.outlier.report(slots[0]!, 502, 0)).toBe(true); // the 5xx detector, after gateway's detection
    const s = cs.stats();
    expect(s['outlier_detection.ejections_detected_consecutive_gateway_failure']).toBe(1);
    expect(s['outlier_detection.ejections_enforced_consecutive_gateway_failure']).toBe(0);
    expect(s['outlier_detection.ejections_enforced_consecutive_5xx']).toBe(1);
  });

  test('consecutiveGatewayErrors: 502/503/504 count, 500 resets it but counts for 5xx', () => {
    const { cs, slots } = detector(2, { consecutive5xx: 0, enforceConsecutive5xx: false, consecutiveGatewayFailure: 3, enforceConsecutiveGatewayFailure: true });
    const e = slots[0]!;
    cs.outlier.report(e, 502, 0);
    cs.outlier.report(e, 504, 0);
    cs.outlier.report(e, 500, 0);
    cs.outlier.report(e, 503, 0);
    cs.outlier.report(e, 503, 0);
    expect(cs.outlier.isEjected(e)).toBe(false);
    expect(cs.outlier.report(e, 504, 0)).toBe(true);
    expect(cs.stats()['outlier_detection.ejections_enforced_consecutive_gateway_failure']).toBe(1);
    // consecutive5xxErrors 0 disables that detector entirely: never even detected.
    expect(cs.stats()['outlier_detection.ejections_detected_consecutive_5xx']).toBe(0);
    expect(cs.stats()['outlier_detection.ejections_total']).toBe(0);
  });

  test('not split: connect failures count as 503, timeouts as 504, connect success is ignored', () => {
    const { cs, slots } = detector(2, { consecutive5xx: 0, enforceConsecutive5xx: false, consecutiveGatewayFailure: 3, enforceConsecutiveGatewayFailure: true });
    const e = slots[0]!;
    cs.outlier.report(e, 'ConnectFailed', 0);
    cs.outlier.report(e, 'ConnectSuccess', 0);
    cs.outlier.report(e, 'Timeout', 0);
    expect(cs.outlier.report(e, 'Reset', 0)).toBe(true);
  });

  test('split: local failures count apart; connect success resets them; 5xx responses do not count', () => {
    const { cs, slots } = detector(2, { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 2, consecutive5xx: 3 });
    const e = slots[0]!;
    cs.outlier.report(e, 'ConnectFailed', 0);
    cs.outlier.report(e, 'ConnectSuccess', 0);
    cs.outlier.report(e, 500, 0);
    cs.outlier.report(e, 500, 0);
    cs.outlier.report(e, 'Timeout', 0);
    expect(cs.outlier.isEjected(e)).toBe(false);
    expect(cs.outlier.report(e, 'Reset', 0)).toBe(true);
    const s = cs.stats();
    expect(s['outlier_detection.ejections_enforced_consecutive_local_origin_failure']).toBe(1);
    expect(s['outlier_detection.ejections_detected_consecutive_5xx']).toBe(0);
  });
});

describe('off, bad calls', () => {
  test('without outlierDetection nothing is ejected; disabling returns ejected hosts', () => {
    const c = cluster(2, 'od-off');
    for (let i = 0; i < 50; i++) expect(c.cs.outlier.report(c.slots[0]!, 500, 0)).toBe(false);
    expect(c.cs.outlier.tick(1e9)).toBe(0);
    c.cs.outlier.configure(base({ maxEjectionPercent: 100 }));
    for (let i = 0; i < 5; i++) c.cs.outlier.report(c.slots[0]!, 500, 0);
    expect(c.cs.outlier.isEjected(c.slots[0]!)).toBe(true);
    c.cs.outlier.configure(null);
    expect(c.cs.outlier.isEjected(c.slots[0]!)).toBe(false);
    expect(c.cs.outlier.ejectionsActive).toBe(0);
  });

  test('bad slots, outcomes and settings are refused with stable codes', () => {
    const { cs } = detector(2);
    expect(() => cs.outlier.report(99, 500, 0)).toThrow(expect.objectContaining({ code: 'bad_slot' }));
    expect(() => cs.outlier.report(3, 500, 0)).toThrow(expect.objectContaining({ code: 'bad_slot_state' }));
    expect(() => cs.outlier.report(0, 42, 0)).toThrow(expect.objectContaining({ code: 'bad_kind' }));
    expect(() => cs.outlier.report(0, 600, 0)).toThrow(expect.objectContaining({ code: 'bad_kind' }));
    expect(() => cs.outlier.configure(base({ intervalMs: 0 }))).toThrow(expect.objectContaining({ code: 'bad_value' }));
    expect(() => cs.outlier.configure(base({ maxEjectionTimeMs: 1 }))).toThrow(expect.objectContaining({ code: 'bad_value' }));
  });
});
