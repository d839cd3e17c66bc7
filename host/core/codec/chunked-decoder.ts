// Decodes chunked bodies in the core (assembly/codec/chunked-decoder.ts): payload spans come
// back as offsets into the buffer the caller pushed, so the payload is forwarded without a copy.
import type { Core } from '../wasm.js';
import { STATUS_OK } from '../status.js';
import { CD_CONSUMED, CD_DONE, CD_ERROR_OFFSET, CD_SIZE, CD_SPAN_COUNT, CD_SPANS, CD_STATE, CD_TRAILER_BYTES, codecExports, type CodecExports } from './codec-layout.js';
import { InputRegion } from './input-region.js';

/**
 * Decodes one chunked body (per stream; reset() for the next). push() copies a socket read
 * into Wasm memory once and decodes it; payload spans are offsets into that same buffer,
 * so the caller forwards `buf.subarray(spanStart(i), spanEnd(i))` without copying. When a
 * call stops early (span table full) `pending` is true: call more() for the rest.
 */
export class ChunkedDecoder {
  readonly #core: Core;
  readonly #e: CodecExports;
  readonly #input: InputRegion;
  readonly #state: number;
  #offset = 0; // bytes of the current buffer consumed so far
  #callStart = 0; // where the last decode call started in the current buffer
  #status = STATUS_OK;

  constructor(core: Core) {
    this.#core = core;
    this.#e = codecExports(core);
    this.#state = this.#e.alloc(CD_SIZE);
    this.#e.chunked_init(this.#state);
    this.#input = new InputRegion(core, this.#e);
  }

  /** Starts a new body. */
  reset(): void {
    this.#e.chunked_init(this.#state);
    this.#input.length = 0;
    this.#offset = 0;
    this.#callStart = 0;
    this.#status = STATUS_OK;
  }

  /** Decodes the start of `buf` (the next bytes of the body); returns the status number. */
  push(buf: Uint8Array): number {
    this.#input.set(buf);
    this.#offset = 0;
    return this.#run();
  }

  /** Continues decoding the rest of the last pushed buffer. */
  more(): number {
    return this.#run();
  }

  #run(): number {
    this.#callStart = this.#offset;
    this.#status = this.#e.chunked_decode(this.#state, this.#input.ptr + this.#offset, this.#input.length - this.#offset);
    this.#offset += this.#u32(CD_CONSUMED);
    return this.#status;
  }

  #u32(offset: number): number {
    return this.#core.u32[(this.#state + offset) >>> 2];
  }

  /** The last call's status (errors are sticky until reset()). */
  get status(): number {
    return this.#status;
  }
  /** Bytes of the last pushed buffer consumed so far (the rest follows the body when done). */
  get consumed(): number {
    return this.#offset;
  }
  /** More of the last buffer remains to decode: call more(). */
  get pending(): boolean {
    return this.#status === STATUS_OK && !this.done && this.#offset < this.#input.length;
  }
  /** The last chunk, trailers and final CRLF have all arrived. */
  get done(): boolean {
    return this.#u32(CD_DONE) !== 0;
  }
  /** Offset in the last pushed buffer of the byte that decided the error. */
  get errorOffset(): number {
    return this.#callStart + this.#u32(CD_ERROR_OFFSET);
  }
  /** Bytes of trailer field lines so far. */
  get trailerBytes(): number {
    return this.#u32(CD_TRAILER_BYTES);
  }
  /** Payload spans the last call reported. */
  get spanCount(): number {
    return this.#u32(CD_SPAN_COUNT);
  }
  /** Span i's start, as an offset into the last pushed buffer. */
  spanStart(i: number): number {
    return this.#u32(CD_SPANS + i * 8) - this.#input.ptr;
  }
  spanEnd(i: number): number {
    return this.spanStart(i) + this.#u32(CD_SPANS + i * 8 + 4);
  }

  /** Whether the decoder sits in its error state (for diagnostics). */
  get failed(): boolean {
    return this.#u32(CD_STATE) === 14;
  }

  dispose(): void {
    this.#input.free();
    this.#e.free(this.#state);
  }
}
