// InflightList: the proxy's set of requests in flight (swap-removal array; see host/http/inflight.ts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InflightList } from '../../host/http/inflight.js';

const member = (id: number) => ({ id, inflightIndex: -1 });

describe('InflightList', () => {
  it('adds, removes from the middle (the last member takes the slot) and clears the index', () => {
    const l = new InflightList<ReturnType<typeof member>>();
    const [a, b, c] = [member(1), member(2), member(3)];
    l.add(a);
    l.add(b);
    l.add(c);
    expect(l.size).toBe(3);
    expect(l.delete(a)).toBe(true);
    expect(a.inflightIndex).toBe(-1);
    expect(c.inflightIndex).toBe(0);
    expect(l.values().map((m) => m.id)).toEqual([3, 2]);
    expect(l.delete(a)).toBe(false); // twice
    expect(l.delete(member(9))).toBe(false); // never added
    l.add(b); // already in: no duplicate
    expect(l.size).toBe(2);
  });

  it('values() is a copy: aborting members while going through it removes each exactly once', () => {
    const l = new InflightList<ReturnType<typeof member>>();
    const ms = [1, 2, 3, 4].map(member);
    for (const m of ms) l.add(m);
    for (const m of l.values()) expect(l.delete(m)).toBe(true);
    expect(l.size).toBe(0);
  });

  it('agrees with a Set under any sequence of adds and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { maxLength: 200 }), (ops) => {
        const ms = Array.from({ length: 16 }, (_, i) => member(i));
        const l = new InflightList<ReturnType<typeof member>>();
        const ref = new Set<number>();
        for (const [add, i] of ops) {
          if (add) {
            l.add(ms[i]!);
            ref.add(i);
          } else {
            expect(l.delete(ms[i]!)).toBe(ref.delete(i));
          }
          expect(l.size).toBe(ref.size);
        }
        expect(l.values().map((m) => m.id).sort((x, y) => x - y)).toEqual([...ref].sort((x, y) => x - y));
        for (const m of ms) expect(m.inflightIndex >= 0).toBe(ref.has(m.id));
      }),
      { seed: 4242, numRuns: 300 },
    );
  });
});
