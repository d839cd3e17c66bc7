// Maglev through the Wasm core: the table equals Envoy's (key-sorted fill order, xxHash64
// offset/skip with seeds 0 and 1, weighted turns), lookups are table[hash mod M], equal
// weights balance to within one slot, and removing an endpoint disturbs few other keys.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { HashBalancer, type HashEndpoint } from '../../../host/core/balance/hash-balancer.js';
import type { HashTableSpec } from '../../../host/model/hash-lb.js';
import { balanceCore } from './balance-core.js';
import { maglevRef, xxh64Ref } from './reference.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

const core = balanceCore();
const maglev = (tableSize = 65537): HashTableSpec => ({ kind: 'maglev', tableSize });
const endpoints = (n: number, weight: (i: number) => number = () => 1): HashEndpoint[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.1.${i >> 8}.${i & 255}:9080`, weight: weight(i) }));
const counts = (owners: Uint32Array, n: number) => Array.from({ length: n }, (_, e) => owners.filter((o) => o === e).length);

const arbEndpoints = fc
  .uniqueArray(fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 8, selector: ([a, p]) => `${a}:${p}` })
  .chain((addrs) => fc.tuple(fc.constant(addrs.map(([a, p]) => `${a}:${p}`)), fc.array(fc.integer({ min: 1, max: 6 }), { minLength: addrs.length, maxLength: addrs.length })))
  .map(([keys, ws]) => keys.map((key, i) => ({ key, weight: ws[i]! })));

// Properties run in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const tableEqualsReference = wasmProperty(import.meta.url, 'table equals the reference', () => [
  arbEndpoints, fc.constantFrom(2, 3, 13, 251, 1009, 4093), (eps: HashEndpoint[], size: number) => {
    const b = HashBalancer.build(core, eps, maglev(size));
    try {
      expect(Array.from(b.snapshot().owners)).toEqual(Array.from(maglevRef(eps, size)));
    } finally {
      b.release();
    }
  },
], { numRuns: 80 });

const removalDisruption = wasmProperty(import.meta.url, 'removal moves few survivor slots', () => [
  fc.integer({ min: 5, max: 40 }), fc.nat(), (n: number, r: number) => {
    const gone = r % n;
    const b = HashBalancer.build(core, endpoints(n), maglev());
    try {
      const before = b.snapshot().owners;
      b.rebuild(Array.from({ length: n }, (_, i) => i !== gone));
      const after = b.snapshot().owners;
      let survivorSlots = 0;
      let moved = 0;
      let stillGone = 0;
      for (let s = 0; s < before.length; s++) {
        if (after[s] === gone) stillGone++;
        if (before[s] === gone) continue;
        survivorSlots++;
        if (after[s] !== before[s]) moved++;
      }
      expect(stillGone).toBe(0);
      expect(moved / survivorSlots).toBeLessThan(0.02);
    } finally {
      b.release();
    }
  },
], { numRuns: 15 });

describe('maglev: equals Envoy', () => {
  test('property: the table equals the reference for any endpoints, weights and prime size', () => tableEqualsReference.check());

  test('the table does not depend on endpoint order (Envoy fills in key order)', () => {
    const eps = endpoints(9, (i) => 1 + (i % 4));
    const perm = [4, 8, 0, 3, 7, 1, 6, 2, 5];
    const a = HashBalancer.build(core, eps, maglev(1009));
    const b = HashBalancer.build(core, perm.map((i) => eps[i]!), maglev(1009));
    const ta = a.snapshot().owners;
    const tb = b.snapshot().owners;
    for (let s = 0; s < 1009; s++) expect(eps[ta[s]!]!.key).toBe(eps[perm[tb[s]!]!]!.key);
    a.release();
    b.release();
  });

  test('lookup is table[hash mod M]; a retry attempt flips the hash as Envoy does', () => {
    const b = HashBalancer.build(core, endpoints(5), maglev(1009));
    const t = b.snapshot().owners;
    for (let i = 0; i < 300; i++) {
      const key = `session-${i}`;
      const h = xxh64Ref(key);
      expect(b.pickKey(key)).toBe(t[Number(h % 1009n)]);
      expect(b.pick(h)).toBe(t[Number(h % 1009n)]);
      const flipped = h ^ BigInt.asUintN(64, ~0n - 2n + 1n);
      expect(b.pickKey(key, 2)).toBe(t[Number(flipped % 1009n)]);
    }
    b.release();
  });
});

describe('maglev: distribution', () => {
  test('equal weights: slots per endpoint differ by at most one (65537 over 7)', () => {
    const b = HashBalancer.build(core, endpoints(7), maglev());
    const c = counts(b.snapshot().owners, 7);
    expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
    expect(b.info()).toEqual({ entries: 65537, liveEndpoints: 7, minPerHost: Math.min(...c), maxPerHost: Math.max(...c) });
    b.release();
  });

  test('weights 1:2:3:4 → slots within 1% of 10/20/30/40%; keys follow within 10% of each share', () => {
    const b = HashBalancer.build(core, endpoints(4, (i) => i + 1), maglev());
    counts(b.snapshot().owners, 4).forEach((c, i) => expect(Math.abs(c / 65537 - (i + 1) / 10)).toBeLessThan(0.01));
    const k = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) k[b.pickKey(`user-${i}`)]!++;
    k.forEach((c, i) => expect(Math.abs(c / 20000 - (i + 1) / 10)).toBeLessThan(0.1 * ((i + 1) / 10)));
    b.release();
  });
});

describe('maglev: disruption and health', () => {
  test('property: removing one endpoint moves all its slots and few others (< 2% of survivors\' slots at M=65537, n ≥ 5)', () => removalDisruption.check());

  test('disruption measured: 1 of 10 removed', () => {
    const b = HashBalancer.build(core, endpoints(10), maglev());
    const before = b.snapshot().owners;
    b.rebuild(Array.from({ length: 10 }, (_, i) => i !== 3));
    const after = b.snapshot().owners;
    let moved = 0, survivors = 0;
    for (let s = 0; s < before.length; s++) if (before[s] !== 3) { survivors++; if (after[s] !== before[s]) moved++; }
    console.log(`maglev 65537, 1 of 10 endpoints removed: ${((moved / survivors) * 100).toFixed(2)}% of survivors' slots moved`);
    expect(moved / survivors).toBeLessThan(0.02);
    b.release();
  });

  test('rebuild after health change; none healthy → -1; recovery gives back the original table', () => {
    const b = HashBalancer.build(core, endpoints(4), maglev(1009));
    const original = b.snapshot().owners;
    expect(b.rebuild([false, true, false, false])).toBe(1009);
    expect(new Set(b.snapshot().owners)).toEqual(new Set([1]));
    expect(b.rebuild([false, false, false, false])).toBe(0);
    expect(b.pickKey('x')).toBe(-1);
    expect(b.pickRandom()).toBe(-1);
    b.rebuild([true, true, true, true]);
    expect(b.snapshot().owners).toEqual(original);
    b.release();
  });
});
