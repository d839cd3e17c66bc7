// The binary regex program: its format (documented once, here; mirrored by
// host/compile/regex/regex-program.ts) and the load-time check that makes every later read
// in-bounds, so regex_match can trust a program and never trap on a bad one.
//
// ── Format, version 1 ───────────────────────────────────────────────────────────────────
// A full-match DFA over bytes, written by the host compiler (host/compile/regex/), placed
// 4-byte aligned. All integers little-endian; offsets are from the program's first byte.
//
// Header (RX_HEADER_SIZE = 32 bytes, u32 each):
//    0 magic 0x58524D57 ("WMRX")   4 format version (1)   8 byteLength of the program
//   12 stateCount (1..65536)      16 classCount (1..256)   20 start state
//   24 acceptOff (= 288)          28 nextOff (= acceptOff + stateCount, rounded up to 4)
// Sections:
//   32        classMap  u8 × 256                    byte → its equivalence class
//   acceptOff accept    u8 × stateCount             1 = a subject ending in this state matches
//   nextOff   next      u16 × stateCount × classCount   next state, row-major by state
// byteLength = nextOff + 2 × stateCount × classCount, exactly.
//
// State 0 is the dead state: not accepting, every class leads back to 0, so the matcher
// stops at the first byte that can no longer lead to a match. Subjects are bytes: the
// compiler lowered `.` and classes to whole UTF-8 sequences, so a subject that is not valid
// UTF-8 only matches where the pattern spells those bytes out.

export const REGEX_MAGIC: u32 = 0x58524d57;
export const REGEX_FORMAT: u32 = 1;
export const RX_HEADER_SIZE: u32 = 32;

export const RX_MAGIC: u32 = 0;
export const RX_FORMAT: u32 = 4;
export const RX_LENGTH: u32 = 8;
export const RX_STATE_COUNT: u32 = 12;
export const RX_CLASS_COUNT: u32 = 16;
export const RX_START: u32 = 20;
export const RX_ACCEPT: u32 = 24;
export const RX_NEXT: u32 = 28;
export const RX_CLASS_MAP: u32 = RX_HEADER_SIZE;

/**
 * Statuses of the regex exports. Negative so that regex_match can return them beside 1/0;
 * mirrored by host/compile/regex/regex-program.ts (RegexStatus).
 */
export const enum RegexStatus {
  Ok = 0,
  /** Shorter than a header, or the recorded byteLength is not the length given / implied. */
  BadLength = -1,
  /** The first four bytes are not "WMRX": not a regex program. */
  BadMagic = -2,
  /** A program of another format version than this core runs. */
  BadFormat = -3,
  /** Counts out of range, a class or state index out of range, or a live dead state. */
  Corrupt = -4,
}

/**
 * Checks the regex program of `len` bytes at `p` before regex_match may run it: header,
 * exact section layout, every class and state index, the dead state. Returns RegexStatus.
 * Never traps for any bytes inside [p, p+len).
 */
export function checkProgram(p: usize, len: u32): i32 {
  if (len < RX_HEADER_SIZE + 256) return RegexStatus.BadLength;
  if (load<u32>(p + RX_MAGIC) != REGEX_MAGIC) return RegexStatus.BadMagic;
  if (load<u32>(p + RX_FORMAT) != REGEX_FORMAT) return RegexStatus.BadFormat;
  if (load<u32>(p + RX_LENGTH) != len) return RegexStatus.BadLength;
  const states = load<u32>(p + RX_STATE_COUNT);
  const classes = load<u32>(p + RX_CLASS_COUNT);
  if (states == 0 || states > 65536 || classes == 0 || classes > 256) return RegexStatus.Corrupt;
  if (load<u32>(p + RX_START) >= states) return RegexStatus.Corrupt;
  const acceptOff = RX_CLASS_MAP + 256;
  const nextOff = (acceptOff + states + 3) & ~3;
  if (load<u32>(p + RX_ACCEPT) != acceptOff || load<u32>(p + RX_NEXT) != nextOff) return RegexStatus.Corrupt;
  // u64: states × classes × 2 fits easily, but keep the sum overflow-free by construction.
  if (<u64>nextOff + <u64>states * <u64>classes * 2 != <u64>len) return RegexStatus.BadLength;
  for (let b: u32 = 0; b < 256; b++) {
    if (<u32>load<u8>(p + RX_CLASS_MAP + b) >= classes) return RegexStatus.Corrupt;
  }
  for (let s: u32 = 0; s < states; s++) {
    if (load<u8>(p + acceptOff + s) > 1) return RegexStatus.Corrupt;
  }
  if (load<u8>(p + acceptOff) != 0) return RegexStatus.Corrupt;
  const next = p + <usize>nextOff;
  const cells = states * classes;
  for (let i: u32 = 0; i < cells; i++) {
    const to = <u32>load<u16>(next + (<usize>i << 1));
    if (to >= states) return RegexStatus.Corrupt;
    // Row 0 (the first `classes` cells) must stay dead.
    if (i < classes && to != 0) return RegexStatus.Corrupt;
  }
  return RegexStatus.Ok;
}
