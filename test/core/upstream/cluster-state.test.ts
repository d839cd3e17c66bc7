// Stable endpoint slots across config versions: a "reload" that reorders, adds and removes
// endpoints keeps the ejection state, counters and active requests of the endpoints that remain;
// growth beyond the region's capacity copies the state; removal releases an ejection.
import { describe, test, expect } from 'vitest';
import { envoyOutlierDefaults } from '../../../host/model/istio-defaults.js';
import { ClusterState, ClusterStates } from '../../../host/core/upstream/cluster-state.js';
import { core } from '../../helpers/upstream-core.js';

const od = { ...envoyOutlierDefaults(), maxEjectionPercent: 100 };

describe('ClusterState slots', () => {
  test('state survives a reload: same address, same slot, still ejected, counters kept', () => {
    const cs = new ClusterState(core(), 'reload', { capacity: 4, seed: 3 });
    cs.outlier.configure(od);
    const v1 = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'];
    const m1 = cs.sync(v1);
    expect(Array.from(m1)).toEqual([0, 1, 2]);
    const b = cs.slotOf('10.0.0.2:80')!;
    for (let i = 0; i < 5; i++) cs.outlier.report(b, 500, 1000);
    cs.outlier.report(cs.slotOf('10.0.0.3:80')!, 503, 1000);
    cs.active(cs.slotOf('10.0.0.1:80')!, +2);

    // Version 2: reordered, 10.0.0.1 removed, two added.
    const v2 = ['10.0.0.4:80', '10.0.0.3:80', '10.0.0.2:80', '10.0.0.5:80'];
    const m2 = cs.sync(v2);
    expect(m2[1]).toBe(2);
    expect(m2[2]).toBe(1);
    expect(new Set(m2).size).toBe(4);
    expect(cs.outlier.isEjected(m2[2]!)).toBe(true);
    expect(cs.outlier.isEjected(m2[0]!)).toBe(false);
    const byAddr = Object.fromEntries(cs.endpoints().map((e) => [e.address, e]));
    expect(byAddr['10.0.0.3:80']).toMatchObject({ consecutive5xx: 1, consecutiveGatewayFailure: 1 });
    expect(byAddr['10.0.0.1:80']).toBeUndefined();
    // The freed slot 0 was reused for a new endpoint, with no history.
    expect(Object.values(byAddr).find((e) => e.slot === 0)).toMatchObject({ activeRequests: 0, timesEjected: 0, state: 'healthy' });
    // The ejection still ends on time.
    expect(cs.outlier.tick(31_000)).toBe(1);
  });

  test('removing an ejected endpoint releases its ejection', () => {
    const cs = new ClusterState(core(), 'remove-ejected', { capacity: 2 });
    cs.outlier.configure(od);
    cs.sync(['a:1', 'b:1']);
    for (let i = 0; i < 5; i++) cs.outlier.report(cs.slotOf('a:1')!, 500, 0);
    expect(cs.outlier.ejectionsActive).toBe(1);
    cs.sync(['b:1']);
    expect(cs.outlier.ejectionsActive).toBe(0);
    // Back again: a new endpoint, not ejected (Envoy: a new host monitor).
    cs.sync(['b:1', 'a:1']);
    expect(cs.outlier.isEjected(cs.slotOf('a:1')!)).toBe(false);
  });

  test('growing past capacity copies everything into a larger region', () => {
    const cs = new ClusterState(core(), 'grow', { capacity: 1 });
    cs.outlier.configure(od);
    cs.breaker.configure({ maxConnections: 7, maxPendingRequests: 7, maxRequests: 7, maxRetries: 7, maxRequestsPerConnection: 0 });
    cs.sync(['a:1', 'b:1']);
    for (let i = 0; i < 5; i++) cs.outlier.report(cs.slotOf('a:1')!, 500, 0);
    cs.breaker.tryAcquire('request');
    const before = cs.address;
    const many = Array.from({ length: 40 }, (_, i) => `h${i}:1`);
    cs.sync(['a:1', 'b:1', ...many]);
    expect(cs.capacity).toBeGreaterThanOrEqual(42);
    expect(cs.address).not.toBe(before);
    expect(cs.outlier.isEjected(cs.slotOf('a:1')!)).toBe(true);
    expect(cs.breaker.active('request')).toBe(1);
    expect(cs.breaker.remaining('request')).toBe(6);
    expect(cs.stats()['outlier_detection.ejections_enforced_total']).toBe(1);
  });

  test('duplicate endpoints are refused; active requests clamp at 0; freed state refuses calls', () => {
    const cs = new ClusterState(core(), 'misc');
    expect(() => cs.sync(['a:1', 'a:1'])).toThrow(expect.objectContaining({ code: 'invalid_setting' }));
    const [s] = cs.sync(['a:1']);
    expect(cs.active(s!, 3)).toBe(3);
    expect(cs.active(s!, -10)).toBe(0);
    expect(() => cs.active(1_000_000, 1)).toThrow(expect.objectContaining({ code: 'bad_slot', message: expect.stringMatching(/^slot_active 1000000: /) }));
    cs.free();
    expect(() => cs.outlier.tick(0)).toThrow(expect.objectContaining({ code: 'released' }));
  });

  test('ClusterStates keeps state by cluster name and frees clusters that left', () => {
    const all = new ClusterStates(core());
    const a = all.get('outbound|80||a');
    expect(all.get('outbound|80||a')).toBe(a);
    all.get('outbound|80||b');
    all.retain(['outbound|80||a']);
    expect(all.names()).toEqual(['outbound|80||a']);
  });
});
