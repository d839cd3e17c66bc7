// The HPACK decoder (RFC 7541 §3, §6): decodes one complete header block (the payloads of a
// HEADERS frame and its CONTINUATION frames, back to back) against a dynamic table into a
// header list struct (header-list.ts). Raw string literals are not copied: the list points
// into the block. The caller keeps the block's bytes until it has read the list.
//
// Over the list's size or count limit the decoder goes on to the end of the block, updating
// the dynamic table but keeping no more fields, so that the table stays in step with the
// peer's encoder and the failure can be a stream error (RST_STREAM / 431), not a connection one.
import { H2Status } from './h2-status';
import { huffmanDecode, HUFFMAN_NO_ROOM } from './huffman';
import {
  HT_CAPACITY, ENTRY_OVERHEAD, tableLookup, tableInsert, tableSetLimit, foundNamePtr, foundNameLen,
  foundValuePtr, foundValueLen,
} from './hpack-table';
import {
  HL_STATUS, HL_COUNT, HL_ERROR_OFFSET, HL_BYTES_USED, HL_BYTES_PTR, HL_BYTES_CAP, HL_MAX_LIST_SIZE,
  HL_MAX_COUNT, HL_LIST_SIZE, HL_FIELDS, HL_FIELD, MAX_FIELDS, FieldFlag,
} from './header-list';
import { STATIC_COUNT } from './hpack-tables';

// Per-call state (module globals: the core is single-threaded and a call never re-enters).
let pos: usize = 0;
let end: usize = 0;
let intValue: u32 = 0;
let strPtr: usize = 0;
let strLen: u32 = 0;
let bytesAt: usize = 0; // next free byte of the byte area
let bytesEnd: usize = 0;

/** Reads an integer with an N-bit prefix at pos (§5.1) into intValue. */
function readInteger(prefixBits: u32): i32 {
  const mask: u32 = (1 << prefixBits) - 1;
  let v = <u32>load<u8>(pos) & mask;
  pos++;
  if (v < mask) { intValue = v; return H2Status.Ok; }
  let acc: u64 = <u64>v;
  let shift: u64 = 0;
  for (;;) {
    if (pos >= end) return H2Status.BadInteger;
    const b = <u64>load<u8>(pos++);
    acc += (b & 127) << shift;
    if (acc > 0xffffffff) return H2Status.BadInteger;
    if ((b & 128) == 0) break;
    shift += 7;
    if (shift > 28) return H2Status.BadInteger;
  }
  intValue = <u32>acc;
  return H2Status.Ok;
}

/** Reads a string literal (§5.2) at pos into strPtr/strLen; Huffman data is decoded into the byte area. */
function readString(): i32 {
  if (pos >= end) return H2Status.TruncatedString;
  const huffman = (load<u8>(pos) & 0x80) != 0;
  const st = readInteger(7);
  if (st != H2Status.Ok) return st;
  const n = intValue;
  if (<usize>n > end - pos) return H2Status.TruncatedString;
  if (!huffman) {
    strPtr = pos;
    strLen = n;
  } else {
    const got = huffmanDecode(pos, <usize>n, bytesAt, bytesEnd - bytesAt);
    if (got == HUFFMAN_NO_ROOM) return H2Status.OutputTooSmall;
    if (got < 0) return H2Status.BadHuffman;
    strPtr = bytesAt;
    strLen = <u32>got;
    bytesAt += <usize>got;
  }
  pos += <usize>n;
  return H2Status.Ok;
}

/** Copies (ptr, len) into the byte area; 0 when it does not fit. */
function copyOut(ptr: usize, len: u32): usize {
  if (<usize>len > bytesEnd - bytesAt) return 0;
  const at = bytesAt;
  memory.copy(at, ptr, <usize>len);
  bytesAt += <usize>len;
  return at;
}

/**
 * Decodes the header block at (ptr, len) with the dynamic table `table` into the header list
 * `list` (the host has set its byte area and limits). Returns Ok or an error (h2-status.ts);
 * HL_ERROR_OFFSET then holds the offset of the representation that failed.
 */
export function hpack_decode(table: usize, ptr: usize, len: usize, list: usize): i32 {
  pos = ptr;
  end = ptr + len;
  const bytes = <usize>load<u32>(list + HL_BYTES_PTR);
  bytesAt = bytes;
  bytesEnd = bytes + <usize>load<u32>(list + HL_BYTES_CAP);
  let maxCount = load<u32>(list + HL_MAX_COUNT);
  if (maxCount == 0 || maxCount > MAX_FIELDS) maxCount = MAX_FIELDS;
  const maxListSize = load<u32>(list + HL_MAX_LIST_SIZE);
  let count: u32 = 0;
  let listSize: u64 = 0;
  let over: i32 = H2Status.Ok; // the first limit crossed, reported after the whole block
  let fieldStart = pos;
  let status: i32 = H2Status.Ok;

  while (pos < end) {
    fieldStart = pos;
    const b = <u32>load<u8>(pos);
    let flags: u32 = 0;
    let namePtr: usize = 0;
    let nameLen: u32 = 0;
    let valuePtr: usize = 0;
    let valueLen: u32 = 0;
    const mark = bytesAt; // a field that is not kept gives its byte area back

    if (b & 0x80) {
      // Indexed header field (§6.1).
      status = readInteger(7);
      if (status != H2Status.Ok) break;
      if (!tableLookup(table, intValue)) { status = H2Status.BadIndex; break; }
      namePtr = foundNamePtr; nameLen = foundNameLen; valuePtr = foundValuePtr; valueLen = foundValueLen;
      if (intValue > STATIC_COUNT) {
        // A dynamic entry may be evicted later in this block: keep a copy.
        namePtr = copyOut(foundNamePtr, foundNameLen + foundValueLen);
        if (namePtr == 0 && foundNameLen + foundValueLen != 0) { status = H2Status.OutputTooSmall; break; }
        valuePtr = namePtr + <usize>nameLen;
      }
    } else if ((b & 0xe0) == 0x20) {
      // Dynamic table size update (§6.3): only before the block's first field (§4.2).
      if (count != 0 || over != H2Status.Ok || listSize != 0) { status = H2Status.LateTableSizeUpdate; break; }
      status = readInteger(5);
      if (status != H2Status.Ok) break;
      if (intValue > load<u32>(table + HT_CAPACITY)) { status = H2Status.TableSizeTooLarge; break; }
      tableSetLimit(table, intValue);
      continue;
    } else {
      // Literal header field (§6.2): with incremental indexing (01), never indexed (0001) or
      // without indexing (0000).
      const indexing = (b & 0xc0) == 0x40;
      if (!indexing && (b & 0x10) != 0) flags |= FieldFlag.NEVER_INDEXED;
      status = readInteger(indexing ? 6 : 4);
      if (status != H2Status.Ok) break;
      if (intValue != 0) {
        if (!tableLookup(table, intValue)) { status = H2Status.BadIndex; break; }
        namePtr = foundNamePtr; nameLen = foundNameLen;
        if (intValue > STATIC_COUNT) {
          namePtr = copyOut(foundNamePtr, foundNameLen);
          if (namePtr == 0 && foundNameLen != 0) { status = H2Status.OutputTooSmall; break; }
        }
      } else {
        status = readString();
        if (status != H2Status.Ok) break;
        namePtr = strPtr; nameLen = strLen;
      }
      status = readString();
      if (status != H2Status.Ok) break;
      valuePtr = strPtr; valueLen = strLen;
      if (indexing) {
        tableInsert(table, namePtr, nameLen, valuePtr, valueLen);
        flags |= FieldFlag.INDEXED;
      }
    }

    listSize += <u64>nameLen + <u64>valueLen + <u64>ENTRY_OVERHEAD;
    if (over == H2Status.Ok) {
      if (maxListSize != 0 && listSize > <u64>maxListSize) over = H2Status.HeaderListTooLarge;
      else if (count >= maxCount) over = H2Status.TooManyHeaders;
    }
    if (over != H2Status.Ok) {
      bytesAt = mark;
      continue;
    }
    const f = list + HL_FIELDS + <usize>count * HL_FIELD;
    store<u32>(f, <u32>namePtr);
    store<u32>(f + 4, nameLen);
    store<u32>(f + 8, <u32>valuePtr);
    store<u32>(f + 12, valueLen);
    store<u32>(f + 16, flags);
    count++;
  }

  if (status == H2Status.Ok) status = over;
  store<u32>(list + HL_STATUS, <u32>status);
  store<u32>(list + HL_COUNT, count);
  store<u32>(list + HL_BYTES_USED, <u32>(bytesAt - bytes));
  store<u32>(list + HL_LIST_SIZE, listSize > 0xffffffff ? 0xffffffff : <u32>listSize);
  store<u32>(list + HL_ERROR_OFFSET, status == H2Status.Ok ? 0 : <u32>(fieldStart - ptr));
  return status;
}
