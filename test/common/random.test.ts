// The data path's seedable PRNG: uint24() is next()'s draw as a 24-bit integer (span ids are
// drawn with it, so a seed gives the same ids as when they were drawn from next()).
import { describe, expect, it } from 'vitest';
import { Random } from '../../host/common/random.js';

describe('Random', () => {
  it('uint24() is floor(next() * 2^24) of the same draw, and advances the sequence as next() does', () => {
    const a = new Random(42);
    const b = new Random(42);
    for (let i = 0; i < 10_000; i++) {
      const x = i % 3 === 0 ? a.uint24() : Math.floor(a.next() * 0x1000000);
      expect(x).toBe(Math.floor(b.next() * 0x1000000));
      expect(Number.isInteger(x) && x >= 0 && x < 0x1000000).toBe(true);
    }
  });

  it('a seed fixes the sequence; two seeds differ', () => {
    const seq = (seed: number): number[] => {
      const r = new Random(seed);
      return Array.from({ length: 8 }, () => r.uint24());
    };
    expect(seq(7)).toEqual(seq(7));
    expect(seq(7)).not.toEqual(seq(8));
  });

  it('draws the mulberry32 sequence it always drew (state kept signed: the same bits)', () => {
    const r = new Random(42);
    expect(Array.from({ length: 6 }, () => r.next())).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693, 0.17481389874592423, 0.5265925421845168]);
    const high = new Random(0xfffffff0);
    expect(Array.from({ length: 4 }, () => high.next())).toEqual([0.8736195750534534, 0.6622341722249985, 0.8231762400828302, 0.57479074341245]);
  });
});
