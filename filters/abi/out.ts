// Out-parameters of host calls: the spec returns values through `return_*` pointers, so the
// wrappers pass addresses of these static words (no allocation) and callers read them after.

/** Two words: host calls write (pointer, size) or (value, unused) here. */
const OUT: usize = memory.data(16, 16);

/** Address of the first out-word (a pointer or a 32-bit value). */
@inline export function outA(): usize {
  return OUT;
}

/** Address of the second out-word (a size). */
@inline export function outB(): usize {
  return OUT + 8;
}

/** The first out-word as written by the last host call. */
@inline export function readA(): u32 {
  return load<u32>(OUT);
}

/** The second out-word as written by the last host call. */
@inline export function readB(): u32 {
  return load<u32>(OUT + 8);
}

/** The first out-word as a 64-bit value (times, metric values). */
@inline export function readA64(): u64 {
  return load<u64>(OUT);
}
