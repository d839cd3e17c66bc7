// Endpoint choice through the Wasm core: round robin skipping unhealthy endpoints, -1 when none
// is healthy, least-request (P2C) preferring idle endpoints, random staying on healthy ones.
import { describe, test, expect } from 'vitest';
import { load, mesh, vhost, route, cluster } from '../../helpers/route-table-builder.js';

function clusters(...cs: ReturnType<typeof cluster>[]) {
  return load(mesh([vhost('v', ['v'], [route('ns/v/0', [], [[cs[0]!.name, 100]])])], cs));
}

describe('pickEndpoint', () => {
  test('round robin cycles through all endpoints in order', () => {
    const t = clusters(cluster('a', 3), cluster('b', 2));
    expect(Array.from({ length: 7 }, () => t.pickEndpoint(0))).toEqual([0, 1, 2, 0, 1, 2, 0]);
    // Cursors are per cluster.
    expect(Array.from({ length: 3 }, () => t.pickEndpoint(1))).toEqual([0, 1, 0]);
  });

  test('unhealthy endpoints are skipped; all unhealthy → -1; recovery rejoins', () => {
    const t = clusters(cluster('a', 4));
    t.setHealth(0, 1, false);
    t.setHealth(0, 2, false);
    expect(Array.from({ length: 6 }, () => t.pickEndpoint(0))).toEqual([0, 3, 0, 3, 0, 3]);
    t.setHealth(0, 0, false);
    t.setHealth(0, 3, false);
    expect(t.pickEndpoint(0)).toBe(-1);
    t.setHealth(0, 2, true);
    expect([t.pickEndpoint(0), t.pickEndpoint(0)]).toEqual([2, 2]);
  });

  test('a cluster without endpoints → -1; out-of-range indices throw bad_index', () => {
    const t = clusters(cluster('a', 0));
    expect(t.pickEndpoint(0)).toBe(-1);
    expect(() => t.pickEndpoint(1)).toThrow(expect.objectContaining({ code: 'bad_index', message: expect.stringMatching(/: cluster 1: /) }));
    expect(() => t.setHealth(0, 0, false)).toThrow(expect.objectContaining({ code: 'bad_index', message: expect.stringMatching(/: cluster 0 endpoint 0: /) }));
    expect(() => t.active(0, 0, 1)).toThrow(expect.objectContaining({ code: 'bad_index', message: expect.stringMatching(/: cluster 0 endpoint 0: /) }));
  });

  test('active counters add up and clamp at zero', () => {
    const t = clusters(cluster('a', 2));
    expect(t.active(0, 1, 1)).toBe(1);
    expect(t.active(0, 1, 1)).toBe(2);
    expect(t.active(0, 1, -1)).toBe(1);
    expect(t.active(0, 1, -5)).toBe(0);
    expect(t.active(0, 0, 0)).toBe(0);
  });

  test('least request (P2C) avoids the busy endpoint and skips unhealthy ones', () => {
    const t = clusters(cluster('a', 2, 'LEAST_REQUEST'));
    t.active(0, 0, 10);
    const picks = Array.from({ length: 200 }, () => t.pickEndpoint(0));
    // The busy one wins only when both choices fall on it (about 1 in 4).
    const busy = picks.filter((p) => p === 0).length;
    expect(busy).toBeGreaterThan(20);
    expect(busy).toBeLessThan(90);
    t.setHealth(0, 1, false);
    for (let i = 0; i < 20; i++) expect(t.pickEndpoint(0)).toBe(0);
    t.setHealth(0, 0, false);
    expect(t.pickEndpoint(0)).toBe(-1);
  });

  test('random spreads over healthy endpoints only', () => {
    const t = clusters(cluster('a', 4, 'RANDOM'));
    t.setHealth(0, 2, false);
    const seen = new Set(Array.from({ length: 400 }, () => t.pickEndpoint(0)));
    expect([...seen].sort()).toEqual([0, 1, 3]);
  });
});
