// Byte comparisons for the matcher, done in place on request bytes (no copies, no strings):
// case-sensitive equality a word at a time, and ASCII case-insensitive equality against a
// pattern the compiler already lower-cased.

/** ASCII lower-case of one byte; only A–Z change (| 32 is the std library's trick). */
@inline export function lower(b: u32): u32 {
  return b - 0x41 < 26 ? b | 0x20 : b;
}

/** Do the `n` bytes at `a` and `b` agree exactly? */
export function bytesEqual(a: usize, b: usize, n: usize): bool {
  // Eight bytes per step: paths and header values are compared on every request.
  while (n >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    n--;
  }
  return true;
}

/** Do the `n` bytes at `a`, lower-cased, equal the already lower-case pattern at `p`? */
export function bytesEqualLower(a: usize, p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) {
    if (lower(<u32>load<u8>(a + i)) != <u32>load<u8>(p + i)) return false;
  }
  return true;
}
