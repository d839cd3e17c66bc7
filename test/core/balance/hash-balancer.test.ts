// HashBalancer and the core's block check: host-side input errors with stable codes, the
// core refusing malformed blocks (never trapping or hanging, for any corruption), release,
// and memory reuse across builds.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { wasmProperty } from '../../helpers/wasm-deadline.js';
import { HashBalancer, HashBalancerError, hashKey } from '../../../host/core/balance/hash-balancer.js';
import type { HashTableSpec } from '../../../host/model/hash-lb.js';
import { balanceCore } from './balance-core.js';

const core = balanceCore();
const ring: HashTableSpec = { kind: 'ringHash', minimumRingSize: 64, maximumRingSize: 8388608, stableRebuild: true };
const x = core.exports as unknown as Record<string, (...a: number[]) => number>;

/** A valid 2-endpoint ring block, as bytes, for the corruption tests. */
function block(): Uint8Array {
  const keys = ['10.0.0.1:80', '10.0.0.2:80'].map((k) => new TextEncoder().encode(k));
  const total = 96 + 32 + 22;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  [0x42484d57, 1, total, 1, 2, 96, 128, 22, 64, 1024, 0].forEach((n, i) => v.setUint32(i * 4, n, true));
  v.setUint32(96, 128, true); v.setUint32(100, 11, true); v.setUint32(104, 1, true); b[108] = 1;
  v.setUint32(112, 139, true); v.setUint32(116, 11, true); v.setUint32(120, 2, true); b[124] = 1;
  b.set(keys[0]!, 128);
  b.set(keys[1]!, 139);
  return b;
}

function check(bytes: Uint8Array, len = bytes.length): number {
  const p = x.alloc!(bytes.length);
  core.u8.set(bytes, p);
  const s = x.hash_lb_check!(p, len);
  // A refused block holds no core tables: plain `free`, as HashBalancer.build does.
  if (s === 0) {
    x.hash_lb_rebuild!(p);
    x.hash_lb_free!(p);
  } else {
    x.free!(p);
  }
  return s;
}

describe('hash_lb_check', () => {
  test('accepts a valid block; refuses each malformation with its status', () => {
    expect(check(block())).toBe(0);
    expect(check(block(), 50)).toBe(-1); // shorter than the header
    expect(check(block(), block().length - 1)).toBe(-1); // byteLength differs
    const mutate = (f: (v: DataView, b: Uint8Array) => void) => { const b = block(); f(new DataView(b.buffer), b); return check(b); };
    expect(mutate((v) => v.setUint32(0, 0x12345678, true))).toBe(-2);
    expect(mutate((v) => v.setUint32(4, 2, true))).toBe(-3);
    expect(mutate((v) => v.setUint32(104, 0, true))).toBe(-4); // weight 0
    expect(mutate((v) => v.setUint32(112, 145, true))).toBe(-4); // key beyond the pool
    expect(mutate((v) => v.setUint32(100, 0, true))).toBe(-4); // empty key
    expect(mutate((v) => v.setUint32(56, 12345, true))).toBe(-4); // core state not zero
    expect(mutate((v) => v.setUint32(20, 4000, true))).toBe(-4); // endpoints outside
    expect(mutate((_, b) => { b[108] = 7; })).toBe(-4); // health flag not 0/1
    expect(mutate((v) => v.setUint32(12, 3, true))).toBe(-5); // unknown kind
    expect(mutate((v) => v.setUint32(32, 0, true))).toBe(-5); // ring min 0
    expect(mutate((v) => v.setUint32(36, 8388609, true))).toBe(-5); // ring max above 8M
    expect(mutate((v) => { v.setUint32(12, 2, true); v.setUint32(32, 65536, true); v.setUint32(36, 0, true); })).toBe(-5); // maglev not prime
    expect(mutate((v) => { v.setUint32(12, 2, true); v.setUint32(32, 65537, true); v.setUint32(36, 0, true); })).toBe(0);
  });
});

/** The same endpoints in a Maglev block of `size` slots (a prime). */
function maglevBlock(size: number): Uint8Array {
  const b = block();
  const v = new DataView(b.buffer);
  v.setUint32(12, 2, true);
  v.setUint32(32, size, true);
  v.setUint32(36, 0, true);
  return b;
}

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts). A block the check
// accepts is rebuilt (ring or Maglev fill: the loops that end only because the check holds,
// e.g. a prime Maglev size makes every permutation visit every slot), picked from, re-healed
// and rebuilt; no call may trap or fail to return. Sizes the check accepts can be large (a
// ring up to 8M points, Maglev up to 5,000,011 slots): legal and slow, hence the deadline.
const blockCorruption = wasmProperty(import.meta.url, 'random corruption of ring and Maglev blocks', () => {
  const c = balanceCore();
  const e = c.exports as unknown as Record<string, (...a: number[]) => number>;
  const blocks = [block(), maglevBlock(13)];
  return [fc.nat(1), fc.array(fc.tuple(fc.nat(149), fc.oneof(fc.nat(255), fc.constantFrom(0, 1, 2, 0xff))), { minLength: 1, maxLength: 6 }), (which: number, edits: Array<[number, number]>) => {
    const b = blocks[which]!.slice();
    for (const [at, v] of edits) b[at % b.length] = v;
    const p = e.alloc!(b.length);
    c.u8.set(b, p);
    const status = e.hash_lb_check!(p, b.length);
    expect([0, -1, -2, -3, -4, -5]).toContain(status);
    if (status !== 0) {
      e.free!(p);
      return;
    }
    const n = new DataView(b.buffer).getUint32(16, true);
    const answers = (picks: number[]) => picks.every((x) => x === -1 || (x >= 0 && x < n));
    e.hash_lb_rebuild!(p);
    expect(answers([0, 1, 2, 3].map((a) => e.hash_lb_pick!(p, 0x9e3779b9 * a, a, a)))).toBe(true);
    expect(e.hash_lb_set_health!(p, 0, 0)).toBe(n > 0 ? 0 : -6);
    e.hash_lb_rebuild!(p);
    expect(answers([e.hash_lb_pick_random!(p), e.hash_lb_pick!(p, 7, 0, 1)])).toBe(true);
    e.hash_lb_set_health!(p, 0, 1);
    e.hash_lb_rebuild!(p);
    expect(answers([e.hash_lb_pick_random!(p)])).toBe(true);
    e.hash_lb_free!(p);
  }];
}, { numRuns: 300, caseDeadlineMs: 20_000 });

describe('hash_lb_check: random corruption', () => {
  test('property: a corrupted block is refused, or builds and picks without trapping or hanging', () => blockCorruption.check(), 120_000);
});

describe('HashBalancer', () => {
  test('input errors: empty, long and duplicate keys; bad weights', () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { expect(e).toBeInstanceOf(HashBalancerError); return (e as HashBalancerError).code; } return null; };
    expect(code(() => HashBalancer.build(core, [{ key: '', weight: 1 }], ring))).toBe('invalid_endpoint_key');
    expect(code(() => HashBalancer.build(core, [{ key: 'x'.repeat(4097), weight: 1 }], ring))).toBe('invalid_endpoint_key');
    expect(code(() => HashBalancer.build(core, [{ key: 'a:1', weight: 1 }, { key: 'a:1', weight: 2 }], ring))).toBe('invalid_endpoint_key');
    expect(code(() => HashBalancer.build(core, [{ key: 'a:1', weight: 0 }], ring))).toBe('invalid_endpoint_weight');
    expect(code(() => HashBalancer.build(core, [{ key: 'a:1', weight: 1.5 }], ring))).toBe('invalid_endpoint_weight');
    expect(code(() => HashBalancer.build(core, [{ key: 'a:1', weight: 2 ** 31 }, { key: 'b:1', weight: 2 ** 31 }], ring))).toBe('invalid_endpoint_weight');
    const b = HashBalancer.build(core, [{ key: 'a:1', weight: 1 }], ring);
    expect(code(() => b.setHealth(1, false))).toBe('bad_index');
    expect(code(() => b.rebuild([true, false]))).toBe('bad_index');
    b.release();
    expect(b.released).toBe(true);
    expect(code(() => b.pickKey('k'))).toBe('released');
    expect(code(() => b.release())).toBe('released');
  });

  test('pick(hash) = pickHalves = pickKey(bytes) for the key hash', () => {
    const b = HashBalancer.build(core, [1, 2, 3].map((i) => ({ key: `10.0.0.${i}:80`, weight: i })), ring);
    for (let i = 0; i < 200; i++) {
      const k = `k${i}`;
      const h = hashKey(core, k);
      const e = b.pickKey(k);
      expect(b.pick(h)).toBe(e);
      expect(b.pickHalves(Number(h & 0xffffffffn), Number(h >> 32n))).toBe(e);
      expect(b.pickKey(new TextEncoder().encode(k))).toBe(e);
    }
    b.release();
  });

  test('build/rebuild/release cycles reuse memory (no growth after warm-up)', () => {
    const eps = Array.from({ length: 50 }, (_, i) => ({ key: `10.2.0.${i}:80`, weight: 1 + (i % 3) }));
    const cycle = () => {
      for (const t of [ring, { kind: 'maglev', tableSize: 65537 } as HashTableSpec, { ...ring, stableRebuild: false } as HashTableSpec]) {
        const b = HashBalancer.build(core, eps, t);
        b.rebuild(eps.map((_, i) => i % 5 !== 0));
        b.rebuild(eps.map(() => true));
        b.release();
      }
    };
    cycle();
    const pages = core.exports.memory.buffer.byteLength;
    for (let i = 0; i < 20; i++) cycle();
    expect(core.exports.memory.buffer.byteLength).toBe(pages);
  });
});
