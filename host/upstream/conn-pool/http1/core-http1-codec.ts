// The HTTP/1 codec port backed by the Wasm core (host/core/codec/): response heads parsed and
// filtered and chunked bodies decoded by the core, with payload and field spans read as views
// so that no JS string is made per header.
import type { Core } from '../../../core/wasm.js';
import { HeadParser, FRAMING_NAMES } from '../../../core/codec/head-parser.js';
import { ChunkedDecoder as CoreChunkedDecoder } from '../../../core/codec/chunked-decoder.js';
import { ResponseHeadFilter } from '../../../core/codec/response-filter.js';
import type { EditList } from '../../../core/codec/edit-list.js';
import { STATUS_OK, STATUS_INCOMPLETE, statusEntry } from '../../../core/status.js';
import type { EditHandle } from '../../upstream-head.js';
import type { ChunkedDecodeResult, ChunkedDecoder, Http1Codec, ResponseHeadResult } from './http1-codec.js';

/** The one-element edit list array filter() takes, reused (heads are filtered one at a time). */
const EDITS: EditList[] = [];

class CoreChunked implements ChunkedDecoder {
  readonly #d: CoreChunkedDecoder;
  constructor(core: Core) {
    this.#d = new CoreChunkedDecoder(core);
  }
  reset(): void {
    this.#d.reset();
  }
  push(bytes: Uint8Array, onData: (data: Uint8Array) => void): ChunkedDecodeResult {
    const d = this.#d;
    let status = d.push(bytes);
    for (;;) {
      // Spans are offsets into `bytes` itself: forward views of the socket buffer, no copy.
      const n = d.spanCount;
      for (let i = 0; i < n; i++) {
        const start = d.spanStart(i);
        const end = d.spanEnd(i);
        if (end > start) onData(bytes.subarray(start, end));
      }
      if (status !== STATUS_OK || !d.pending) break;
      status = d.more();
    }
    return { consumed: d.consumed, done: d.done, error: status === STATUS_OK ? null : statusEntry(status).code };
  }
  dispose(): void {
    this.#d.dispose();
  }
}

export class CoreHttp1Codec implements Http1Codec {
  readonly #core: Core;
  readonly #parser: HeadParser;
  readonly #filter: ResponseHeadFilter;

  constructor(core: Core) {
    this.#core = core;
    this.#parser = new HeadParser(core);
    this.#filter = new ResponseHeadFilter(core);
  }

  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult {
    const p = this.#parser;
    const status = p.parseResponse(bytes, requestMethodIsHead);
    if (status === STATUS_INCOMPLETE) return { status: 'incomplete' };
    if (status !== STATUS_OK) return { status: 'error', code: statusEntry(status).code };
    const framing = FRAMING_NAMES[p.framing] ?? 'close';
    return {
      status: 'ok',
      // `fields: this`: the filter reads the parser's last head, this one until the next parse.
      head: { code: p.statusCode, headLength: p.headLength, framing, contentLength: p.contentLength, keepAlive: p.keepAlive && framing !== 'close', fields: this },
    };
  }

  forEachResponseField(edits: EditHandle, keepContentLength: boolean, statusText: (s: Uint8Array) => void, field: (name: Uint8Array, value: Uint8Array) => void,
    fieldBytes?: (mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => void): void {
    const f = this.#filter;
    EDITS[0] = edits as EditList;
    const n = f.filter(this.#parser, EDITS, keepContentLength);
    statusText(f.statusText(this.#parser));
    if (fieldBytes === undefined) {
      for (let i = 0; i < n; i++) field(f.name(i), f.value(i));
      return;
    }
    // The spans (addresses in the core's memory) are read after filter(). A sink may grow memory
    // (the HTTP/2 listener's encoder copies into its region): the current view goes with each field.
    const core = this.#core;
    for (let i = 0; i < n; i++) fieldBytes(core.u8, f.nameStart(i), f.nameEnd(i), f.valueStart(i), f.valueEnd(i));
  }

  chunkedDecoder(): ChunkedDecoder {
    return new CoreChunked(this.#core);
  }

  dispose(): void {
    this.#parser.dispose();
    this.#filter.dispose();
  }
}
