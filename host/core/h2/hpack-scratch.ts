// The HPACK regions that are only used within one call, shared by every decoder and encoder on
// a core instead of held by each connection: the decoded header list struct and its byte area
// (Huffman-decoded strings, copies of dynamic entries: up to the list limit plus twice the
// largest header block, ~196 KiB), the input a reassembled block is copied into, and the
// encoder's list, string and output regions. A connection on the core codec used to hold all of
// them (~210 KiB of Wasm memory per connection, idle or not); now it keeps only its state (the
// two dynamic tables, its read region).
//
// Sound because the core is single-threaded and each use is within one synchronous call:
// - a decode fills the list and its reader reads it before anything else can decode (decodes
//   happen only in socket reads); a reader that keeps spans past its turn checks `generation`,
//   which every decoder on the core now moves (any decode invalidates every earlier list), and
//   falls back to its strings;
// - an encode copies its block out before returning; a block given field by field
//   (beginBlock…endBlock) is built and encoded within one writeHead.
import type { Core } from '../wasm.js';
import { InputRegion } from '../codec/input-region.js';
import type { CodecExports } from '../codec/codec-layout.js';
import { h2Exports, HL_SIZE, MAX_FIELDS } from './h2-layout.js';

export class HpackScratch {
  readonly #core: Core;
  /** The header list struct every decode fills. */
  readonly decodeList: number;
  /** The decoders' byte area (grown to the largest any decoder on the core needs). */
  bytes = 0;
  bytesCap = 0;
  /** Where a header block reassembled from CONTINUATION frames is copied to be decoded. */
  readonly decodeInput: InputRegion;
  /** The header list struct every encode reads. */
  readonly encodeList: number;
  /** A block's names and values (encode, encodeRequestHead, beginBlock…endBlock). */
  readonly strings: InputRegion;
  /** The encoded block, copied out before the call returns. */
  readonly out: InputRegion;
  /** Per field of a block given field by field: its offset in `strings`, name length, value length. */
  readonly spans = new Uint32Array(MAX_FIELDS * 3);
  /** Moves whenever a decoded list's bytes may have changed (any decoder's decode, a read into a decoded-from region, a growth). */
  generation = 0;

  constructor(core: Core) {
    this.#core = core;
    const e = h2Exports(core);
    this.decodeList = e.alloc(HL_SIZE);
    this.encodeList = e.alloc(HL_SIZE);
    const ce = e as unknown as CodecExports;
    this.decodeInput = new InputRegion(core, ce);
    this.strings = new InputRegion(core, ce);
    this.out = new InputRegion(core, ce);
    this.out.reserve(4096);
  }

  /** Makes the byte area at least `cap` bytes (a decoder's worst case). */
  reserveBytes(cap: number): void {
    if (cap <= this.bytesCap) return;
    const e = h2Exports(this.#core);
    if (this.bytes !== 0) e.free(this.bytes);
    this.bytes = e.alloc(cap);
    this.bytesCap = cap;
    this.generation++;
  }
}

const BY_CORE = new WeakMap<Core, HpackScratch>();

/** The core's shared HPACK regions (made on first use). */
export function hpackScratch(core: Core): HpackScratch {
  let s = BY_CORE.get(core);
  if (s === undefined) {
    s = new HpackScratch(core);
    BY_CORE.set(core, s);
  }
  return s;
}
