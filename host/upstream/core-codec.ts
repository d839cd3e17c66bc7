// The upstream codec port backed by the Wasm core: response heads are parsed by the core's
// HeadParser (host/core/codec.ts). Chunked decoding and request-head writing still use the
// interim JS adapter until the core's ChunkedDecoder and head writer land in host/core.
import type { Core } from '../core/wasm.js';
import { HeadParser, FRAMING_NAMES } from '../core/codec.js';
import { STATUS_OK, STATUS_INCOMPLETE, statusEntry } from '../core/status.js';
import { InterimJsCodec } from './interim-js-codec.js';
import type { ChunkedDecoder, ResponseHead, ResponseHeadResult, UpstreamCodec, UpstreamRequestHead } from './upstream-codec.js';

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

export class CoreUpstreamCodec implements UpstreamCodec {
  readonly #parser: HeadParser;
  readonly #interim: InterimJsCodec;

  constructor(core: Core, limits: { maxResponseHeadBytes: number; maxResponseHeaders: number }) {
    this.#parser = new HeadParser(core);
    this.#interim = new InterimJsCodec(limits);
  }

  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult {
    const p = this.#parser;
    const status = p.parseResponse(bytes, requestMethodIsHead);
    if (status === STATUS_INCOMPLETE) return { status: 'incomplete' };
    if (status !== STATUS_OK) return { status: 'error', code: statusEntry(status).code };
    const headers: Array<[string, string]> = [];
    const n = p.headerCount;
    for (let i = 0; i < n; i++) {
      headers.push([latin1(bytes, p.nameStart(i), p.nameEnd(i)).toLowerCase(), latin1(bytes, p.valueStart(i), p.valueEnd(i))]);
    }
    const framing = FRAMING_NAMES[p.framing] ?? 'close';
    const contentLength = p.contentLength;
    const head: ResponseHead = {
      code: p.statusCode,
      reason: latin1(bytes, p.reasonStart, p.reasonEnd),
      headers,
      headLength: p.headLength,
      framing,
      contentLength: contentLength < 0 ? 0 : contentLength,
      keepAlive: p.keepAlive && framing !== 'close',
    };
    return { status: 'ok', head };
  }

  chunkedDecoder(): ChunkedDecoder {
    return this.#interim.chunkedDecoder();
  }

  writeRequestHead(req: UpstreamRequestHead): Uint8Array {
    return this.#interim.writeRequestHead(req);
  }

  dispose(): void {
    this.#parser.dispose();
  }
}
