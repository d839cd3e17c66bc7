// Fast byte-class scans for the head parser: each returns the address of the FIRST byte at or
// after `p` that is outside a class, or `stop` when every byte before `stop` is inside it.
// That is exactly what a byte-at-a-time loop answers, so the parser still decides every error
// at the byte that proves it, in byte order (split reads depend on it); the scans only look
// at 16 bytes per step (Wasm SIMD) instead of one byte, one bounds check and one table load.
import { CharCode, charClass, C_TCHAR, C_VCHAR, C_FIELD } from './char-class';

// tchar as two 16-byte nibble tables for i8x16.swizzle: a byte c is a tchar iff
// TCHAR_LO[c & 15] & TCHAR_HI[c >> 4] != 0 (bit h of TCHAR_LO[l] says "c = h·16 + l is a
// tchar"; TCHAR_HI[h] = 1 << h for h < 8, 0 above, since no byte ≥ 0x80 is a tchar).
// Derived from the char-class table at instantiation, so the two can never disagree.
const TCHAR_LO: usize = memory.data(16, 16);
const TCHAR_HI: usize = memory.data(16, 16);

function initTcharNibbles(): void {
  for (let c: u32 = 0; c < 128; c++) {
    if (charClass(c) & C_TCHAR) {
      const at = TCHAR_LO + <usize>(c & 15);
      store<u8>(at, <u8>(<u32>load<u8>(at) | (<u32>1 << (c >> 4))));
    }
  }
  for (let h: u32 = 0; h < 8; h++) store<u8>(TCHAR_HI + <usize>h, <u8>(<u32>1 << h));
}
// The char-class table is filled by char-class.ts's top-level code, which runs first (imported).
initTcharNibbles();

/**
 * The first address in [p, p + 16) whose bit is set in `bad` (bit i = byte p + i), with the
 * byte at `stop` treated as outside the class; `0` when all 16 bytes are inside and before
 * `stop`. Bytes at and after `stop` were loaded (the vector load reads a whole block) but
 * must never decide anything: they are not part of the input.
 */
// @ts-ignore: decorator
@inline function firstOutside(p: usize, stop: usize, bad: u32): usize {
  const left = stop - p;
  if (left < 16) bad |= <u32>1 << <u32>left;
  return bad != 0 ? p + <usize>ctz(bad) : 0;
}

/**
 * The end of the memory that a 16-byte load may touch. Vector loads run past `stop` (the
 * final block of a line usually does) but never past memory, which would trap. With 4 GiB of
 * memory the shift wraps to 0 and every scan falls back to bytes: correct, merely slower.
 */
// @ts-ignore: decorator
@inline function loadLimit(): usize {
  return <usize>memory.size() << 16;
}

/** First byte at or after `p` that is not a tchar (methods, field names), or `stop`. */
// @ts-ignore: decorator
@inline export function skipTchar(p: usize, stop: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const limit = loadLimit();
    if (p < stop) {
      const lo = v128.load(TCHAR_LO);
      const hi = v128.load(TCHAR_HI);
      const nibble = i8x16.splat(0x0f);
      while (p + 16 <= limit) {
        const v = v128.load(p);
        const hit = v128.and(i8x16.swizzle(lo, v128.and(v, nibble)), i8x16.swizzle(hi, i8x16.shr_u(v, 4)));
        const at = firstOutside(p, stop, <u32>i8x16.bitmask(i8x16.eq(hit, i8x16.splat(0))));
        if (at != 0) return at;
        p += 16;
      }
    }
  }
  while (p < stop && charClass(<u32>load<u8>(p)) & C_TCHAR) p++;
  return p;
}

/** First byte at or after `p` that is not a VCHAR (0x21–0x7E; request-targets), or `stop`. */
// @ts-ignore: decorator
@inline export function skipVchar(p: usize, stop: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const limit = loadLimit();
    if (p < stop) {
      while (p + 16 <= limit) {
        const v = v128.load(p);
        // VCHAR iff c - 0x21 < 0x5E, unsigned: one subtract and one compare per lane.
        const ok = i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x21)), i8x16.splat(0x5e));
        const at = firstOutside(p, stop, ~<u32>i8x16.bitmask(ok) & 0xffff);
        if (at != 0) return at;
        p += 16;
      }
    }
  }
  while (p < stop && charClass(<u32>load<u8>(p)) & C_VCHAR) p++;
  return p;
}

/**
 * First byte at or after `p` that is not a field byte (VCHAR, obs-text, SP, HTAB: field
 * values and reason phrases), or `stop`. The bytes outside are the controls other than HTAB
 * and DEL; a well-formed line's value stops at its CR.
 */
// @ts-ignore: decorator
@inline export function skipField(p: usize, stop: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const limit = loadLimit();
    if (p < stop) {
      while (p + 16 <= limit) {
        const v = v128.load(p);
        const ctl = v128.andnot(i8x16.lt_u(v, i8x16.splat(0x20)), i8x16.eq(v, i8x16.splat(<i8>CharCode.HTAB)));
        const bad = v128.or(ctl, i8x16.eq(v, i8x16.splat(<i8>CharCode.DEL)));
        const at = firstOutside(p, stop, <u32>i8x16.bitmask(bad));
        if (at != 0) return at;
        p += 16;
      }
    }
  }
  while (p < stop && charClass(<u32>load<u8>(p)) & C_FIELD) p++;
  return p;
}
