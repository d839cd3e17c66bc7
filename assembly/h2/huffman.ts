// HPACK's Huffman code (RFC 7541 §5.2, Appendix B). Decoding reads four bits at a time through
// a state table built once from the code (states are the code tree's 256 inner nodes; each of
// the 16 nibbles leads to a next state, at most one decoded byte, and whether the code is
// complete there), the technique nghttp2 uses. Encoding packs codes into a 64-bit accumulator.
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './hpack-tables';

const EOS: u32 = 256;
const EOS_CODE: u32 = 0x3fffffff;
const EOS_LENGTH: u32 = 30;

const EMIT: u32 = 1;
const FAIL: u32 = 2;
const ACCEPT: u32 = 4; // the bits read so far end on a valid padding prefix (≤ 7 ones)

/** Decoding failed: EOS in the data, or padding over 7 bits or not all ones. */
export const HUFFMAN_BAD: isize = -1;
/** The destination is too small. */
export const HUFFMAN_NO_ROOM: isize = -2;

let nibbleTable: usize = 0; // 256 states × 16 nibbles × u32: next | flags << 8 | symbol << 16

function codeOf(sym: u32): u32 {
  return sym == EOS ? EOS_CODE : load<u32>(HUFFMAN_CODES + (<usize>sym << 2));
}

function lengthOf(sym: u32): u32 {
  return sym == EOS ? EOS_LENGTH : <u32>load<u8>(HUFFMAN_LENGTHS + <usize>sym);
}

function buildTable(): usize {
  // The code tree: 256 inner nodes, each with two children as u16: an inner node number,
  // or 0x8000 | symbol for a leaf. Node 0 is the root.
  const tree = heap.alloc(256 * 2 * 2);
  memory.fill(tree, 0xff, 256 * 2 * 2);
  let nodes: u32 = 1;
  for (let sym: u32 = 0; sym <= EOS; sym++) {
    const code = codeOf(sym);
    const n = lengthOf(sym);
    let node: u32 = 0;
    for (let i: i32 = <i32>n - 1; i >= 0; i--) {
      const bit = (code >>> <u32>i) & 1;
      const slot = tree + ((<usize>node * 2 + <usize>bit) << 1);
      if (i == 0) {
        store<u16>(slot, <u16>(0x8000 | sym));
      } else {
        let child = <u32>load<u16>(slot);
        if (child == 0xffff) {
          child = nodes++;
          store<u16>(slot, <u16>child);
        }
        node = child;
      }
    }
  }
  // Accepting states: the root and the all-ones path below it to depth 7.
  const accepting = heap.alloc(256);
  memory.fill(accepting, 0, 256);
  let ones: u32 = 0;
  for (let d = 0; d <= 7; d++) {
    store<u8>(accepting + <usize>ones, 1);
    ones = <u32>load<u16>(tree + ((<usize>ones * 2 + 1) << 1));
  }
  const table = heap.alloc(256 * 16 * 4);
  for (let state: u32 = 0; state < 256; state++) {
    for (let nib: u32 = 0; nib < 16; nib++) {
      let node = state;
      let flags: u32 = 0;
      let sym: u32 = 0;
      for (let b: i32 = 3; b >= 0; b--) {
        const child = <u32>load<u16>(tree + ((<usize>node * 2 + <usize>((nib >>> <u32>b) & 1)) << 1));
        if (child & 0x8000) {
          sym = child & 0x7fff;
          if (sym == EOS) { flags |= FAIL; node = 0; break; }
          flags |= EMIT;
          node = 0;
        } else {
          node = child;
        }
      }
      if (load<u8>(accepting + <usize>node)) flags |= ACCEPT;
      store<u32>(table + ((<usize>state * 16 + <usize>nib) << 2), node | (flags << 8) | (sym << 16));
    }
  }
  heap.free(tree);
  heap.free(accepting);
  return table;
}

/** Decodes `len` Huffman-coded bytes at `src` into `dst` (room for `cap`); the decoded length or an error. */
export function huffmanDecode(src: usize, len: usize, dst: usize, cap: usize): isize {
  if (nibbleTable == 0) nibbleTable = buildTable();
  const table = nibbleTable;
  let state: u32 = 0;
  let flags: u32 = ACCEPT;
  let out = dst;
  const outEnd = dst + cap;
  for (let p = src, end = src + len; p < end; p++) {
    const byte = <u32>load<u8>(p);
    let e = load<u32>(table + ((<usize>state * 16 + <usize>(byte >>> 4)) << 2));
    flags = (e >>> 8) & 0xff;
    if (flags & FAIL) return HUFFMAN_BAD;
    if (flags & EMIT) {
      if (out >= outEnd) return HUFFMAN_NO_ROOM;
      store<u8>(out++, <u8>(e >>> 16));
    }
    state = e & 0xff;
    e = load<u32>(table + ((<usize>state * 16 + <usize>(byte & 15)) << 2));
    flags = (e >>> 8) & 0xff;
    if (flags & FAIL) return HUFFMAN_BAD;
    if (flags & EMIT) {
      if (out >= outEnd) return HUFFMAN_NO_ROOM;
      store<u8>(out++, <u8>(e >>> 16));
    }
    state = e & 0xff;
  }
  if (!(flags & ACCEPT)) return HUFFMAN_BAD;
  return <isize>(out - dst);
}

/** The length in bytes of the Huffman coding of (src, len). */
export function huffmanLength(src: usize, len: usize): usize {
  let bits: usize = 0;
  for (let p = src, end = src + len; p < end; p++) bits += <usize>load<u8>(HUFFMAN_LENGTHS + <usize>load<u8>(p));
  return (bits + 7) >> 3;
}

/** Huffman-codes (src, len) into `dst` (room for huffmanLength bytes); returns the bytes written. */
export function huffmanEncode(src: usize, len: usize, dst: usize): usize {
  let acc: u64 = 0;
  let bits: u32 = 0;
  let out = dst;
  for (let p = src, end = src + len; p < end; p++) {
    const sym = <usize>load<u8>(p);
    const n = <u32>load<u8>(HUFFMAN_LENGTHS + sym);
    acc = (acc << <u64>n) | <u64>load<u32>(HUFFMAN_CODES + (sym << 2));
    bits += n;
    while (bits >= 8) {
      bits -= 8;
      store<u8>(out++, <u8>(acc >> <u64>bits));
    }
  }
  if (bits > 0) {
    // Pad with the most significant bits of EOS: all ones (§5.2).
    store<u8>(out++, <u8>((acc << <u64>(8 - bits)) | <u64>(0xff >> bits)));
  }
  return out - dst;
}
