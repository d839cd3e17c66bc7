// The connections' stream table (host/core/h2/stream-table.ts) against a Map: any sequence of
// opens, closes and lookups answers as a Map does, and the table grows to the peak, not the count.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamTable } from '../../../host/core/h2/stream-table.js';

type Op = { kind: 'set' | 'delete' | 'get'; id: number };

describe('StreamTable', () => {
  it('answers as a Map over random opens, closes and lookups (ids colliding in few slots)', () => {
    const op = fc.record({ kind: fc.constantFrom('set', 'delete', 'get'), id: fc.integer({ min: 1, max: 300 }) }) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new StreamTable<number>();
        const m = new Map<number, number>();
        ops.forEach((o, n) => {
          if (o.kind === 'set') {
            t.set(o.id, n);
            m.set(o.id, n);
          } else if (o.kind === 'delete') expect(t.delete(o.id)).toBe(m.delete(o.id));
          else expect(t.get(o.id)).toBe(m.get(o.id));
          expect(t.size).toBe(m.size);
        });
        for (let id = 1; id <= 300; id++) expect(t.get(id)).toBe(m.get(id));
        expect(t.values()).toEqual([...m.keys()].sort((a, b) => a - b).map((id) => m.get(id)));
      }),
      { numRuns: 300 },
    );
  });

  it('a connection opening and closing streams in order (ids increasing) stays at the size its peak needs', () => {
    const t = new StreamTable<string>();
    // 16 streams open at a time, 100,000 streams in all: as h2load -m 16 drives a connection.
    // (17 for a moment: the next opens before the oldest closes, so more than half of 32 slots.)
    let deleted = 0;
    for (let id = 1; id < 200_000; id += 2) {
      t.set(id, `s${id}`);
      if (id > 31 && t.delete(id - 32)) deleted++;
    }
    expect(deleted).toBe(99_984);
    expect(t.size).toBe(16);
    expect(t.capacity).toBe(64);
    expect(t.get(199_999)).toBe('s199999');
    expect(t.get(199_967)).toBeUndefined();
  });

  it('refuses ids that are no stream id', () => {
    const t = new StreamTable<number>();
    for (const bad of [0, -1, 2 ** 31, 1.5, NaN]) expect(() => t.set(bad, 1)).toThrow(/a stream id is 1\.\.2\^31-1/);
    expect(t.get(0)).toBeUndefined();
    expect(t.delete(0)).toBe(false);
  });
});
