// The EndpointLease the router keeps for all its attempts (ClusterManager.pickEndpoint with
// `into`): refilled, it is what a new lease from the same pick would be, and it counts the
// endpoint's active requests the same (LEAST_REQUEST reads them); one still held is never refilled.
import { describe, it, expect, afterEach } from 'vitest';
import { harness, meshOf, req, type Harness } from './cluster-harness.js';

let h: Harness | undefined;
afterEach(() => h?.close());

describe('EndpointLease refilled per attempt', () => {
  it('a refilled lease is the pick a new lease would be, and moves the active count as one', () => {
    h = harness();
    const v = h.load(meshOf([1001, 1002, 1003], { lb: 'ROUND_ROBIN' }));
    const active = (): number => h!.cm.clusters()[0]!.endpoints.reduce((n, e) => n + e.activeRequests, 0);
    const fresh: Array<[number, string]> = [];
    for (let i = 0; i < 6; i++) {
      const l = h.cm.pickEndpoint(v, 0, req())!;
      fresh.push([l.index, l.endpoint.key]);
      l.release();
    }
    const kept = h.cm.pickEndpoint(v, 0, req())!;
    kept.release();
    const refilled: Array<[number, string]> = [];
    for (let i = 0; i < 6; i++) {
      const l = h.cm.pickEndpoint(v, 0, req(), kept)!;
      expect(l).toBe(kept);
      expect(l.released).toBe(false);
      refilled.push([l.index, l.endpoint.key]);
      // Held: the endpoint counts one active request (LEAST_REQUEST's), as for a new lease; released: none.
      expect(active()).toBe(1);
      l.release();
      expect(l.released).toBe(true);
      expect(active()).toBe(0);
    }
    // Round robin goes on where it was: the same rotation of endpoints as with new leases.
    const rotation = (xs: Array<[number, string]>): string[] => xs.map(([, k]) => k);
    expect(new Set(rotation(refilled))).toEqual(new Set(rotation(fresh)));
    expect(refilled.map(([i]) => i).sort()).toEqual(fresh.map(([i]) => i).sort());
  });

  it('a lease still held is not refilled (its attempt has not given its count back)', () => {
    h = harness();
    const v = h.load(meshOf([1001, 1002]));
    const l = h.cm.pickEndpoint(v, 0, req())!;
    expect(() => h!.cm.pickEndpoint(v, 0, req(), l)).toThrow(/refilled before its release/);
  });

  it('no endpoint picked: the kept lease is left as it was', () => {
    h = harness();
    const v = h.load(meshOf([1001]));
    const l = h.cm.pickEndpoint(v, 0, req())!;
    l.release();
    // Cluster index out of range: no pick.
    expect(h.cm.pickEndpoint(v, 5, req(), l)).toBeNull();
    expect(l.released).toBe(true);
    expect(l.index).toBe(0);
  });
});
