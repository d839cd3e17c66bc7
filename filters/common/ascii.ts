// Static ASCII bytes for header names and response details (built once at start-up, never per
// request) and a decimal formatter writing into one static buffer.

/** A constant's bytes in linear memory: where they are and how many. */
export class Ascii {
  constructor(public ptr: usize, public len: usize) {}
}

/** `s`'s ASCII bytes in a block allocated once (call at start-up only). */
export function ascii(s: string): Ascii {
  const n = <usize>s.length;
  const p = heap.alloc(n > 0 ? n : 1);
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, <u8>s.charCodeAt(<i32>i));
  return new Ascii(p, n);
}

const DIGITS = memory.data(16);
let digitsLen: usize = 0;

/** Writes `v` in decimal into a static buffer and returns its address (valid until the next call). */
export function decimal(v: u32): usize {
  let n: usize = 1;
  for (let t = v; t >= 10; t /= 10) n++;
  let at = n;
  let t = v;
  do {
    store<u8>(DIGITS + --at, <u8>(0x30 + t % 10));
    t /= 10;
  } while (t > 0);
  digitsLen = n;
  return DIGITS;
}

/** Length of the last decimal(). */
export function decimalLen(): usize {
  return digitsLen;
}

/** Parses `n` ASCII digits at `p` as a u32; -1 when empty, not all digits, or too large. */
export function parseDecimal(p: usize, n: usize): i64 {
  if (n == 0 || n > 9) return -1;
  let v: i64 = 0;
  for (let i: usize = 0; i < n; i++) {
    const d = <i32>load<u8>(p + i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
