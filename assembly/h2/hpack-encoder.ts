// The HPACK encoder (RFC 7541 §6): encodes a header list struct (header-list.ts) the host
// filled with spans into a header block. A field the tables hold whole is sent as an index;
// otherwise as a literal, with the name as an index when the tables hold it. The policy per
// call: with incremental indexing (the field joins the dynamic table) or without indexing
// (nothing is added); fields flagged NEVER_INDEXED always go as never indexed (§6.2.3).
// Strings are Huffman-coded when that is shorter, or always, or never.
import { H2Status } from './h2-status';
import { huffmanEncode, huffmanLength } from './huffman';
import { HT_LIMIT, HT_PENDING, HT_PENDING_MIN, HT_CAPACITY, tableFind, tableInsert, tableSetLimit } from './hpack-table';
import { HL_COUNT, HL_FIELDS, HL_FIELD, MAX_FIELDS, FieldFlag } from './header-list';

/** hpack_encode's options. */
export const enum EncodeFlag {
  /** Literals with incremental indexing (else without indexing). */
  INDEXING = 1,
  /** Huffman-code a string when that is shorter. */
  HUFFMAN_SHORTER = 2,
  /** Huffman-code every string (RFC 7541 Appendix C.4 and C.6 do). */
  HUFFMAN_ALWAYS = 4,
}

let out: usize = 0;
let outEnd: usize = 0;

/** Writes an integer with an N-bit prefix (§5.1), the first byte OR'd with `high`; false when out of room. */
function writeInteger(value: u32, prefixBits: u32, high: u32): bool {
  const mask: u32 = (1 << prefixBits) - 1;
  if (out >= outEnd) return false;
  if (value < mask) {
    store<u8>(out++, <u8>(high | value));
    return true;
  }
  store<u8>(out++, <u8>(high | mask));
  let v = value - mask;
  while (v >= 128) {
    if (out >= outEnd) return false;
    store<u8>(out++, <u8>((v & 127) | 128));
    v >>= 7;
  }
  if (out >= outEnd) return false;
  store<u8>(out++, <u8>v);
  return true;
}

function writeString(ptr: usize, len: u32, flags: u32): bool {
  let huffman = false;
  let hlen: usize = 0;
  if (flags & (EncodeFlag.HUFFMAN_ALWAYS | EncodeFlag.HUFFMAN_SHORTER)) {
    hlen = huffmanLength(ptr, <usize>len);
    huffman = (flags & EncodeFlag.HUFFMAN_ALWAYS) != 0 || hlen < <usize>len;
  }
  const n = huffman ? <u32>hlen : len;
  if (!writeInteger(n, 7, huffman ? 0x80 : 0)) return false;
  if (<usize>n > outEnd - out) return false;
  if (huffman) huffmanEncode(ptr, <usize>len, out);
  else memory.copy(out, ptr, <usize>len);
  out += <usize>n;
  return true;
}

/**
 * Sets the encoder table's maximum size (the peer's SETTINGS_HEADER_TABLE_SIZE or less); the
 * next block starts with the size update(s) §4.2 requires. Above the table's capacity the
 * call is refused with TableSizeTooLarge.
 */
export function hpack_encoder_set_limit(table: usize, limit: u32): i32 {
  if (limit > load<u32>(table + HT_CAPACITY)) return H2Status.TableSizeTooLarge;
  tableSetLimit(table, limit);
  if (limit < load<u32>(table + HT_PENDING_MIN)) store<u32>(table + HT_PENDING_MIN, limit);
  store<u32>(table + HT_PENDING, 1);
  return H2Status.Ok;
}

/**
 * Encodes the fields of `list` into (dst, cap) with the dynamic table `table`. Returns the
 * block's length, or -OutputTooSmall when it does not fit (the table may then have changed:
 * the host grows the output before the next block, see host/core/h2/hpack.ts).
 */
export function hpack_encode(table: usize, list: usize, dst: usize, cap: usize, flags: u32): i32 {
  out = dst;
  outEnd = dst + cap;
  if (load<u32>(table + HT_PENDING) != 0) {
    const min = load<u32>(table + HT_PENDING_MIN);
    const limit = load<u32>(table + HT_LIMIT);
    if (min < limit && !writeInteger(min, 5, 0x20)) return -H2Status.OutputTooSmall;
    if (!writeInteger(limit, 5, 0x20)) return -H2Status.OutputTooSmall;
    store<u32>(table + HT_PENDING, 0);
    store<u32>(table + HT_PENDING_MIN, limit);
  }
  let count = load<u32>(list + HL_COUNT);
  if (count > MAX_FIELDS) count = MAX_FIELDS;
  for (let i: u32 = 0; i < count; i++) {
    const f = list + HL_FIELDS + <usize>i * HL_FIELD;
    const namePtr = <usize>load<u32>(f);
    const nameLen = load<u32>(f + 4);
    const valuePtr = <usize>load<u32>(f + 8);
    const valueLen = load<u32>(f + 12);
    const never = (load<u32>(f + 16) & FieldFlag.NEVER_INDEXED) != 0;
    const found = tableFind(table, namePtr, nameLen, valuePtr, valueLen);
    if (found != 0 && (found & 0x80000000) == 0 && !never) {
      if (!writeInteger(found, 7, 0x80)) return -H2Status.OutputTooSmall;
      continue;
    }
    const nameIndex = found & 0x7fffffff; // a whole match of a never-indexed field still names it
    const indexing = !never && (flags & EncodeFlag.INDEXING) != 0;
    let ok = indexing
      ? writeInteger(nameIndex, 6, 0x40)
      : writeInteger(nameIndex, 4, never ? 0x10 : 0);
    if (ok && nameIndex == 0) ok = writeString(namePtr, nameLen, flags);
    if (ok) ok = writeString(valuePtr, valueLen, flags);
    if (!ok) return -H2Status.OutputTooSmall;
    if (indexing) tableInsert(table, namePtr, nameLen, valuePtr, valueLen);
  }
  return <i32>(out - dst);
}
