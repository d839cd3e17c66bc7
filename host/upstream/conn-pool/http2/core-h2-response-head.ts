// The response head of an upstream HTTP/2 stream on the core codec as the router takes it
// (ResponseHead), straight from the HPACK decoder's list: the core reads the list into a
// parsed-head struct (host/core/h2/h2-response-head.ts) and the core's HTTP/1 response filter
// lists the fields to send from it (hop-by-hop dropped, the route's edits applied), so the
// router's view is the one an HTTP/1 upstream gives, with no HTTP/1.1 text and no headers
// object per response (h2-response-head.ts does the same for the node:http2 pool, through text).
import { STATUS_CODES } from 'node:http';
import type { Core } from '../../../core/wasm.js';
import { H2ResponseHeadStruct } from '../../../core/h2/h2-response-head.js';
import type { HpackDecoder } from '../../../core/h2/hpack.js';
import { ResponseHeadFilter } from '../../../core/codec/response-filter.js';
import type { EditList } from '../../../core/codec/edit-list.js';
import type { EditHandle, ResponseFields, ResponseFraming, ResponseHead } from '../../upstream-head.js';

export type CoreH2ResponseHeadResult = ResponseHead | { readonly error: string };

/** "200 OK" as bytes, per code (the status text an HTTP/1 downstream writes). */
const statusTexts = new Map<number, Uint8Array>();
function statusText(code: number): Uint8Array {
  let t = statusTexts.get(code);
  if (t === undefined) statusTexts.set(code, (t = Buffer.from(`${code} ${STATUS_CODES[code] ?? 'Unknown'}`, 'latin1')));
  return t;
}

/**
 * One per connection: holds the last head it read (the router reads the fields in the turn
 * that delivered the head, before the connection decodes another block).
 */
export class CoreH2ResponseHeads implements ResponseFields {
  readonly #struct: H2ResponseHeadStruct;
  readonly #filter: ResponseHeadFilter;
  /** The filter's edit-list argument, reused. */
  readonly #lists: EditList[] = [];
  readonly #core: Core;

  constructor(core: Core) {
    this.#core = core;
    this.#struct = new H2ResponseHeadStruct(core);
    this.#filter = new ResponseHeadFilter(core);
  }

  /**
   * The decoder's last list as a response head; a 1xx head's code is all that is read of it.
   * `endStream`: the HEADERS frame ended the stream (no body; for gRPC, a trailers-only response).
   */
  read(decoder: HpackDecoder, endStream: boolean, isHead: boolean): CoreH2ResponseHeadResult {
    const s = this.#struct;
    const error = s.read(decoder);
    if (error !== null) return { error };
    const code = s.code;
    const contentLength = s.contentLength;
    let framing: ResponseFraming;
    if (isHead || code === 204 || code === 304 || endStream || code < 200) framing = 'none';
    else if (contentLength >= 0) framing = 'length';
    else framing = 'chunked'; // DATA frames until END_STREAM: a body of unknown length, streamed
    return { code, framing, contentLength: framing === 'length' ? contentLength : -1, fields: this, grpcStatus: s.grpcStatus };
  }

  forEachResponseField(edits: EditHandle, keepContentLength: boolean, onStatus: (s: Uint8Array) => void, field: (name: Uint8Array, value: Uint8Array) => void,
    fieldBytes?: (mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => void): void {
    const f = this.#filter;
    this.#lists[0] = edits as EditList;
    const n = f.filter(this.#struct, this.#lists, keepContentLength);
    onStatus(statusText(this.#struct.code));
    if (fieldBytes === undefined) {
      for (let i = 0; i < n; i++) field(f.name(i), f.value(i));
      return;
    }
    // Spans of the core's memory (addresses), read after filter(): no view made per field. The
    // sink may grow memory (the HTTP/2 listener's encoder copies into its region): the current
    // view is passed with each field.
    const core = this.#core;
    for (let i = 0; i < n; i++) fieldBytes(core.u8, f.nameStart(i), f.nameEnd(i), f.valueStart(i), f.valueEnd(i));
  }

  dispose(): void {
    this.#struct.dispose();
    this.#filter.dispose();
  }
}
