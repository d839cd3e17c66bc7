// The upstream codec port backed by the Wasm core (host/core/codec.ts): response heads parsed
// and filtered, chunked bodies decoded and request heads written by the core, with payload
// and field spans read as views so that no JS string is made per header.
import type { Core } from '../core/wasm.js';
import type { RequestView } from '../core/request-view.js';
import {
  HeadParser,
  ChunkedDecoder as CoreChunkedDecoder,
  RequestHeadWriter,
  ResponseHeadFilter,
  EditList,
  FRAMING_NAMES,
  WRITE_FRAMING_NONE,
  WRITE_FRAMING_LENGTH,
  WRITE_FRAMING_CHUNKED,
} from '../core/codec.js';
import { STATUS_OK, STATUS_INCOMPLETE, statusEntry } from '../core/status.js';
import type { HeaderOps } from '../model/mesh.js';
import type { ChunkedDecodeResult, ChunkedDecoder, EditHandle, RequestFraming, ResponseHeadResult, UpstreamCodec } from './upstream-codec.js';

const WRITE_FRAMING: Record<RequestFraming, number> = { none: WRITE_FRAMING_NONE, length: WRITE_FRAMING_LENGTH, chunked: WRITE_FRAMING_CHUNKED };

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

export class CoreUpstreamCodec implements UpstreamCodec {
  readonly #core: Core;
  readonly #view: RequestView;
  readonly #parser: HeadParser;
  readonly #filter: ResponseHeadFilter;
  readonly #writer: RequestHeadWriter;

  /** `view` is the core's request view the listener fills (requestViewOf(core)). */
  constructor(core: Core, view: RequestView) {
    this.#core = core;
    this.#view = view;
    this.#parser = new HeadParser(core);
    this.#filter = new ResponseHeadFilter(core);
    this.#writer = new RequestHeadWriter(core);
  }

  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult {
    const p = this.#parser;
    const status = p.parseResponse(bytes, requestMethodIsHead);
    if (status === STATUS_INCOMPLETE) return { status: 'incomplete' };
    if (status !== STATUS_OK) return { status: 'error', code: statusEntry(status).code };
    const framing = FRAMING_NAMES[p.framing] ?? 'close';
    return {
      status: 'ok',
      head: { code: p.statusCode, headLength: p.headLength, framing, contentLength: p.contentLength, keepAlive: p.keepAlive && framing !== 'close' },
    };
  }

  forEachResponseField(edits: EditHandle, keepContentLength: boolean, statusText: (s: Uint8Array) => void, field: (name: Uint8Array, value: Uint8Array) => void): void {
    const f = this.#filter;
    const n = f.filter(this.#parser, [edits as EditList], keepContentLength);
    statusText(f.statusText(this.#parser));
    for (let i = 0; i < n; i++) field(f.name(i), f.value(i));
  }

  chunkedDecoder(): ChunkedDecoder {
    return new CoreChunked(this.#core);
  }

  encodeEdits(ops: HeaderOps): EditHandle {
    return new EditList(this.#core, ops);
  }

  writeRequestHead(edits: EditHandle, framing: RequestFraming, contentLength: number): Uint8Array {
    return this.#writer.write(this.#view, [edits as EditList], WRITE_FRAMING[framing], contentLength);
  }

  dispose(): void {
    this.#parser.dispose();
    this.#filter.dispose();
    this.#writer.dispose();
  }
}
