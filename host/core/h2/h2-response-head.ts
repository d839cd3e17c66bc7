// An HTTP/2 response header list, as the HPACK decoder left it, read into a parsed-head struct
// by the core (assembly/h2/response-head-list.ts: :status checked, fields checked per RFC 9113
// §8.2.1, content-length and grpc-status read), the struct the core's response filter reads
// (host/core/codec/response-filter.ts) as it reads an HTTP/1 head: no HTTP/1.1 text, no JS
// string or object per response.
import type { Core } from '../wasm.js';
import { PH_CONTENT_LENGTH, PH_GRPC_STATUS, PH_SIZE, PH_STATUS_CODE } from '../codec/codec-layout.js';
import { h2Exports, type H2Exports } from './h2-layout.js';
import type { HpackDecoder } from './hpack.js';

/** Why read() refused a response head (assembly/h2/response-head-list.ts ResponseHeadError). */
export type H2ResponseHeadError = 'bad_status' | 'bad_pseudo_header' | 'bad_field' | 'bad_content_length' | 'too_many_headers' | 'bad_response_head';
const ERRORS: readonly (H2ResponseHeadError | undefined)[] = [undefined, 'bad_status', 'bad_pseudo_header', 'bad_field', 'bad_content_length', 'too_many_headers'];

/** One parsed-head struct, refilled by each read (one per connection). */
export class H2ResponseHeadStruct {
  readonly #core: Core;
  readonly #e: H2Exports;
  readonly structPtr: number;

  constructor(core: Core) {
    this.#core = core;
    this.#e = h2Exports(core);
    this.structPtr = this.#e.alloc(PH_SIZE);
  }

  /** Reads the decoder's last list; null when it is a well-formed response head, else why not. */
  read(decoder: HpackDecoder): H2ResponseHeadError | null {
    const r = this.#e.h2_response_head(decoder.listPtr, this.structPtr);
    return r === 0 ? null : (ERRORS[-r] ?? 'bad_response_head');
  }

  /** The :status (100–999). */
  get code(): number {
    return this.#core.u32[(this.structPtr + PH_STATUS_CODE) >>> 2]!;
  }

  /** content-length, or -1 when absent. */
  get contentLength(): number {
    return this.#core.view.getFloat64(this.structPtr + PH_CONTENT_LENGTH, true);
  }

  /** grpc-status, or -1 when absent (or not a number). */
  get grpcStatus(): number {
    const v = this.#core.u32[(this.structPtr + PH_GRPC_STATUS) >>> 2]!;
    return v === 0xffffffff ? -1 : v;
  }

  dispose(): void {
    this.#e.free(this.structPtr);
  }
}
