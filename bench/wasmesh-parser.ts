// wasmesh's request-head parser as the benchmark drives it: the core's numeric path
// (HeadParser.parseRequest, what the proxy calls: status and spans as numbers in linear
// memory) and the public object-returning parseRequestHead (host/codec/parse-head.ts).
import { parseRequestHead } from '../host/codec/parse-head.js';
import { HeadParser } from '../host/core/codec/head-parser.js';
import { STATUS_OK } from '../host/core/status.js';
import { Core } from '../host/core/wasm.js';

interface Decoded {
  method: string;
  target: string;
  headers: Array<[string, string]>;
}

function text(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

export class WasmeshParsers {
  /** A Core of its own, as one proxy worker has. */
  readonly #parser: HeadParser;

  constructor(core: Core = new Core()) {
    this.#parser = new HeadParser(core);
  }

  /** The hot call: copy in, parse, read the status and the header count. */
  parseCore(bytes: Uint8Array): number {
    const p = this.#parser;
    return p.parseRequest(bytes) + p.headerCount;
  }

  /** The public API: a fresh object with strings per call. */
  parseApi(bytes: Uint8Array): number {
    const head = parseRequestHead(bytes);
    return head.status === 'ok' ? head.headers.length : -1;
  }

  /** Decodes the numeric path's spans into strings, to check them before timing. */
  decodeCore(bytes: Uint8Array): Decoded {
    const p = this.#parser;
    const status = p.parseRequest(bytes);
    if (status !== STATUS_OK) throw new Error(`wasmesh core: status ${status} at byte ${p.errorOffset}`);
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < p.headerCount; i++) headers.push([text(bytes, p.nameStart(i), p.nameEnd(i)), text(bytes, p.valueStart(i), p.valueEnd(i))]);
    return { method: text(bytes, p.methodStart, p.methodEnd), target: text(bytes, p.targetStart, p.targetEnd), headers };
  }

  decodeApi(bytes: Uint8Array): Decoded {
    const head = parseRequestHead(bytes);
    if (head.status !== 'ok') throw new Error(`wasmesh parseRequestHead: ${head.status === 'error' ? head.code : head.status}`);
    return head;
  }
}
