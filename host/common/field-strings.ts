// Strings for header field bytes, reused request after request instead of decoded anew: a
// head's names and most of its values are byte for byte those of the previous heads, and a fresh
// string per field per request was garbage as soon as the request ended (the largest allocation
// per gRPC call in the proxy's heap profile, issue 15). Two tables, one per kind of field, with
// one length bound (FIELD_STRING_MAX_LENGTH: longer spans — ids, tokens, cookies — are rarely
// repeated and decoded each time):
//
// - FieldNames (the HTTP/1 listener's names): kept for good, case-insensitive, lower-case,
//   V8-internalized. A name's bytes are hashed (length and six bytes) and compared with the names
//   seen before, case-insensitively, and a match gives back the kept lower-case string: no
//   allocation, and the same string object on every request, so the proxy's lookups by name (all
//   of them compare with `===`) find it by pointer: the kept string is V8's internalized one, as
//   the literals they compare with are. Bounded: past MAX_NAMES distinct names (a client
//   inventing names) a name is decoded as before.
// - fieldString (HPACK's decoded names and values): exact bytes, latin1, the newest string per
//   slot. Direct-mapped (a slot per hash, the newest string wins): bounded memory, nothing to
//   evict, and a string is returned only when its bytes equal the span's, so a collision costs an
//   allocation, never a wrong field. Values change (a :path, a grpc-message) where names do not:
//   the newest wins rather than the first 512. Module-wide: strings are immutable and the thread
//   is one.

import { propagationSlot } from './propagation-bytes.js';

/** Longer spans are decoded every time and never kept, by either table. */
export const FIELD_STRING_MAX_LENGTH = 64;

/** Distinct names kept, at most; later new names are decoded every time. */
export const MAX_NAMES = 512;
/** Hash table slots (a power of two, at least twice MAX_NAMES: open addressing stays short). */
const NAME_SLOTS = 2048;
/**
 * Slots looked at per lookup, at most: names made to collide (same length and sampled bytes)
 * cost a few compares each, then are decoded as unkept names, never a scan of the table.
 */
export const MAX_PROBES = 8;

/** One kept name: its lower-case bytes and string, and whether it has an underscore (the listener's headers_with_underscores check). */
export interface FieldName {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly underscore: boolean;
  /** Its propagation slot when it is a trace context field (host/common/propagation-bytes.ts), else -1. */
  readonly propagation: number;
}

/** V8's internalized copy of `s`: the string a property key of that spelling is. */
function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}

/** ASCII upper case to lower case; any other byte as it is. */
function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

export class FieldNames {
  readonly #slots: Array<FieldName | undefined> = new Array<FieldName | undefined>(NAME_SLOTS);
  #size = 0;

  /** Names kept so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * The kept name of the bytes `mem[start, end)` (compared without regard to ASCII case), kept
   * now when it is new and there is room; undefined when it is not kept (too long, table full,
   * or MAX_PROBES slots of other names where it would go).
   */
  lookup(mem: Uint8Array, start: number, end: number): FieldName | undefined {
    const len = end - start;
    if (len === 0 || len > FIELD_STRING_MAX_LENGTH) return undefined;
    // The hash reads the length and six bytes (first, last two, and at a quarter, half and three
    // quarters of the name), not the whole name: the compare below reads it all anyway, and the
    // few names that share those land in the next slots. Mixed by murmur3's finalizer.
    const a = lower(mem[start]!) | (lower(mem[start + (len >>> 2)]!) << 8) | (lower(mem[start + (len >>> 1)]!) << 16) | (lower(mem[start + ((3 * len) >>> 2)]!) << 24);
    const b = lower(mem[end - 1]!) | (lower(mem[end - (len > 1 ? 2 : 1)]!) << 8) | (len << 16);
    let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const mask = NAME_SLOTS - 1;
    for (let s = h & mask, probes = 0; probes < MAX_PROBES; s = (s + 1) & mask, probes++) {
      const e = this.#slots[s];
      if (e === undefined) {
        if (this.#size >= MAX_NAMES) return undefined;
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = lower(mem[start + i]!);
        // Internalized (as V8 does with every property key), so that `===` against the proxy's
        // literal names ('x-b3-traceid', 'host': internalized too) is a pointer compare, not a
        // compare of the characters.
        const name = internalized(Buffer.from(bytes.buffer, bytes.byteOffset, len).toString('latin1'));
        const kept: FieldName = { bytes, name, underscore: name.includes('_'), propagation: propagationSlot(name) };
        this.#slots[s] = kept;
        this.#size++;
        return kept;
      }
      const b = e.bytes;
      if (b.length !== len) continue;
      let i = 0;
      for (; i < len; i++) {
        const c = mem[start + i]!;
        // Names arrive lower-case (HTTP/2 requires it, most HTTP/1 clients send it): the mixed-case test only on a mismatch.
        if (b[i] !== c && b[i] !== lower(c)) break;
      }
      if (i === len) return e;
    }
    return undefined;
  }
}

/** fieldString's slots (a power of two). */
const VALUE_SLOTS = 1024;
const recent: Array<string | undefined> = new Array<string | undefined>(VALUE_SLOTS).fill(undefined);

/** The latin1 string of `u8[ptr, ptr + len)`, the same string as last time for the same short bytes; `mem` is a Buffer over the same memory (for the slow path). */
export function fieldString(u8: Uint8Array, mem: Buffer, ptr: number, len: number): string {
  if (len > FIELD_STRING_MAX_LENGTH) return mem.toString('latin1', ptr, ptr + len);
  let h = len | 0;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ u8[ptr + i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (VALUE_SLOTS - 1);
  const s = recent[slot];
  if (s !== undefined && s.length === len) {
    let i = 0;
    while (i < len && s.charCodeAt(i) === u8[ptr + i]) i++;
    if (i === len) return s;
  }
  const fresh = mem.toString('latin1', ptr, ptr + len);
  recent[slot] = fresh;
  return fresh;
}
