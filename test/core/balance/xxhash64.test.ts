// xxHash64 in the core: published vectors (xxhsum / reference implementation outputs, Envoy's
// own "foo"), every length around the 4-, 8- and 32-byte boundaries, and a differential
// property test against the BigInt reference.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { hashKey } from '../../../host/core/balance/hash-balancer.js';
import { balanceCore } from './balance-core.js';
import { xxh64Ref } from './reference.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

const core = balanceCore();

// Runs in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const matchesReference = wasmProperty(import.meta.url, 'core = reference', () => [
  fc.uint8Array({ maxLength: 300 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (b: Uint8Array, seed: bigint) => {
    expect(hashKey(core, b, seed)).toBe(xxh64Ref(b, seed));
  },
], { numRuns: 300 });

// [input, seed, expected] — values published with xxHash ports and test suites.
const VECTORS: Array<[string, bigint, bigint]> = [
  ['', 0n, 0xef46db3751d8e999n],
  ['a', 0n, 0xd24ec4f1a98c6e5bn],
  ['ab', 0n, 7347350983217793633n],
  ['abc', 0n, 0x44bc2cf5ad770999n],
  ['ABC', 0n, 0xe66ae7354fcfee98n],
  ['foo', 0n, 3728699739546630719n], // Envoy's hash_test.cc value for HashUtil::xxHash64("foo")
  ['bar', 0n, 5234164152756840025n],
  ['xxhash', 0n, 0x32dd38952c4bc720n],
  ['abcdefghij', 0n, 0xd6287a1de5498bb2n],
  ['abcdefghijkl', 0n, 0x4b09b7d3a233d4b3n],
  ['abcdefghijklmnop', 0n, 0x71ce8137ca2dd53dn],
  ['abcdefghijklmnopqrstuvwx', 0n, 0x0bec95e34669983bn],
  ['abcdefghijklmnopqrstuvwxyz12345', 0n, 0x467605901b01d6f6n],
  ['abcdefghijklmnopqrstuvwxyz123456', 0n, 0x0022ee3b5a18531bn],
  ['abcdefghijklmnopqrstuvwxyz1234567', 0n, 0x23bbd16d29353c5fn],
  ['The quick brown fox jumps over the lazy dog', 0n, 0x0b242d361fda71bcn],
  ['', 668718853n, 0x04e830582a31a119n],
  ['a', 191961062n, 0x6e05ba2887c97977n],
  ['abcdefghijklmnopqrstuvwxyz12345', 877380273n, 0x37b562ec5715e132n],
  ['\x01', 0n, 9962287286179718960n],
];

describe('xxHash64', () => {
  test.each(VECTORS)('xxh64(%j, seed %s)', (input, seed, expected) => {
    expect(hashKey(core, input, seed)).toBe(expected);
    // The reference agrees too, so it can stand in for vectors below.
    expect(xxh64Ref(input, seed)).toBe(expected);
  });

  test('binary vectors: little-endian integers', () => {
    expect(hashKey(core, new Uint8Array([2, 0]))).toBe(6482051057365497128n);
    expect(hashKey(core, new Uint8Array([3, 0, 0, 0]))).toBe(13361037350151369407n);
  });

  test('every length 0..100 matches the reference (all tail and stripe paths)', () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= 100; n++) {
      expect(hashKey(core, bytes.subarray(0, n)), `length ${n}`).toBe(xxh64Ref(bytes.subarray(0, n)));
      expect(hashKey(core, bytes.subarray(0, n), 1n), `length ${n} seed 1`).toBe(xxh64Ref(bytes.subarray(0, n), 1n));
    }
  });

  test('property: core = reference for any bytes and seed', () => matchesReference.check());
});
