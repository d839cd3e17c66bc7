// Lowers a set of code points to UTF-8 byte-range sequences, so that a byte automaton consumes
// exactly the well-formed encodings of the set's members (no surrogates, no overlongs): each
// sequence is 1–4 byte ranges, one per byte of the encoding.
import type { CodeRange } from './code-point-set.js';

export type ByteRange = readonly [number, number];

const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff];

function encode(c: number): number[] {
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 0x3f)];
  if (c < 0x10000) return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
}

function split(lo: number, hi: number, out: ByteRange[][]): void {
  if (lo > hi) return;
  // Surrogates have no UTF-8 encoding.
  if (lo <= 0xdfff && hi >= 0xd800) {
    split(lo, 0xd7ff, out);
    split(0xe000, hi, out);
    return;
  }
  // One encoded length per piece.
  for (const limit of LENGTH_LIMITS) {
    if (lo <= limit && hi > limit) {
      split(lo, limit, out);
      split(limit + 1, hi, out);
      return;
    }
  }
  if (hi < 0x80) {
    out.push([[lo, hi]]);
    return;
  }
  // Cut until every trailing byte spans its full 80–BF range or lo and hi share the lead bytes,
  // so the piece is exactly the product of its per-byte ranges.
  const n = encode(lo).length;
  for (let i = 1; i < n; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        split(lo, lo | m, out);
        split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) !== m) {
        split(lo, (hi & ~m) - 1, out);
        split(hi & ~m, hi, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((x, i) => [x, b[i]!] as const));
}

/** The byte-range sequences whose concatenated products are exactly the UTF-8 encodings of `set`. */
export function utf8Sequences(set: readonly CodeRange[]): ByteRange[][] {
  const out: ByteRange[][] = [];
  for (const [lo, hi] of set) split(lo, hi, out);
  return out;
}
