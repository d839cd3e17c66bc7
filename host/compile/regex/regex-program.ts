// The binary regex program the core runs (format documented once, atop
// assembly/regex/program.ts; the constants below mirror it): encoding of a Dfa, and a plain TS
// runner of the same bytes used by tests to tell compiler bugs from core bugs.
import type { Dfa } from './dfa.js';

// ── Format mirror (assembly/regex/program.ts) ───────────────────────────────────────────
export const REGEX_MAGIC = 0x58524d57; // "WMRX"
export const REGEX_FORMAT = 1;
export const RX_HEADER_SIZE = 32;
export const RX = {
  MAGIC: 0, FORMAT: 4, LENGTH: 8, STATE_COUNT: 12, CLASS_COUNT: 16, START: 20, ACCEPT: 24, NEXT: 28,
} as const;
export const RX_CLASS_MAP = RX_HEADER_SIZE;
/** Byte alignment a program needs where it is placed (its u16/u32 fields). */
export const REGEX_ALIGN = 4;

const align4 = (n: number) => (n + 3) & ~3;

/** The program bytes of `dfa`. */
export function encodeRegexProgram(dfa: Dfa): Uint8Array {
  const acceptOff = RX_CLASS_MAP + 256;
  const nextOff = align4(acceptOff + dfa.stateCount);
  const length = nextOff + dfa.stateCount * dfa.classCount * 2;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(RX.MAGIC, REGEX_MAGIC, true);
  view.setUint32(RX.FORMAT, REGEX_FORMAT, true);
  view.setUint32(RX.LENGTH, length, true);
  view.setUint32(RX.STATE_COUNT, dfa.stateCount, true);
  view.setUint32(RX.CLASS_COUNT, dfa.classCount, true);
  view.setUint32(RX.START, dfa.start, true);
  view.setUint32(RX.ACCEPT, acceptOff, true);
  view.setUint32(RX.NEXT, nextOff, true);
  bytes.set(dfa.classMap, RX_CLASS_MAP);
  bytes.set(dfa.accept, acceptOff);
  for (let i = 0; i < dfa.next.length; i++) view.setUint16(nextOff + i * 2, dfa.next[i]!, true);
  return bytes;
}

/** Runs a program over `subject` bytes in TS: does the whole subject match? */
export function runRegexProgram(program: Uint8Array, subject: Uint8Array): boolean {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const classes = view.getUint32(RX.CLASS_COUNT, true);
  const acceptOff = view.getUint32(RX.ACCEPT, true);
  const nextOff = view.getUint32(RX.NEXT, true);
  let s = view.getUint32(RX.START, true);
  for (const b of subject) {
    s = view.getUint16(nextOff + (s * classes + program[RX_CLASS_MAP + b]!) * 2, true);
    if (s === 0) return false;
  }
  return program[acceptOff + s] === 1;
}
