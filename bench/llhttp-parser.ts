// llhttp compiled to Wasm, run the way undici 7 runs it, as the baseline for the request-head
// parser benchmark. Benchmark glue only: nothing in host/ uses it.
//
// The approach follows undici's lib/dispatcher/client-h1.js (lazyllhttp() and Parser#execute):
// compile lib/llhttp/llhttp_simd-wasm.js (falling back to llhttp-wasm.js), instantiate it with
// the eight `wasm_on_*` callbacks in `env`, llhttp_alloc() one parser, keep one input region
// from malloc() grown in 4 KiB steps, copy each chunk in with one Uint8Array.set, then
// llhttp_execute(parser, ptr, len). Two deliberate differences, both in llhttp's favour:
//  - the callbacks record (offset, length) spans in a Uint32Array instead of wrapping each span
//    in a Buffer as undici's Parser does, so llhttp is measured at the cost a numeric caller
//    pays, the same contract wasmesh's core has;
//  - on_headers_complete returns 1 (llhttp: "skip the body"), so that a head with
//    Content-Length completes the message and every benchmark measures the head alone.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** llhttp's parser type for requests (llhttp constants TYPE.REQUEST). */
const TYPE_REQUEST = 1;
/** llhttp error code for success (constants ERROR.OK). */
const ERROR_OK = 0;
/** Headers the recorder keeps (a field and a value span each); more than any sample carries. */
const MAX_HEADERS = 128;

interface LlhttpExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_execute(parser: number, ptr: number, len: number): number;
  llhttp_get_method(parser: number): number;
  llhttp_get_http_major(parser: number): number;
  llhttp_get_http_minor(parser: number): number;
  llhttp_get_error_pos(parser: number): number;
}

let compiled: { module: WebAssembly.Module; simd: boolean } | undefined;

/** Compiles undici's llhttp build once; SIMD first, as undici does (UNDICI_NO_WASM_SIMD=1 opts out). */
function llhttpModule(): { module: WebAssembly.Module; simd: boolean } {
  if (compiled) return compiled;
  if (process.env.UNDICI_NO_WASM_SIMD !== '1') {
    try {
      compiled = { module: new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js')), simd: true };
      return compiled;
    } catch {
      // Same fallback as undici: an engine without Wasm SIMD gets the scalar build.
    }
  }
  compiled = { module: new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js')), simd: false };
  return compiled;
}

/** What one parse found, for checking the glue against the sample before timing. */
export interface LlhttpHead {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
}

/** One llhttp request parser with its own Wasm instance and span recorder. */
export class LlhttpRequestParser {
  readonly simd: boolean;
  readonly #x: LlhttpExports;
  readonly #parser: number;
  #bufPtr = 0;
  #bufSize = 0;
  /**
   * Spans relative to the input: [0] url offset, [1] url length, [2] span count, then one
   * (offset, length) pair per span, alternating field and value.
   */
  readonly spans = new Uint32Array(3 + MAX_HEADERS * 4);
  #lastKind = 0; // 1 after a field callback, 2 after a value callback: joins split spans

  constructor() {
    const { module, simd } = llhttpModule();
    this.simd = simd;
    const spans = this.spans;
    // Absolute Wasm addresses become offsets into the caller's bytes, as undici's
    // `at - currentBufferPtr` does before slicing the chunk.
    const span = (kind: number, at: number, len: number): number => {
      const off = at - this.#bufPtr;
      const n = spans[2];
      if (this.#lastKind === kind && n > 0) {
        spans[3 + (n - 1) * 2 + 1] += len; // continuation of the same field or value
        return 0;
      }
      if (n >= MAX_HEADERS * 2) return -1; // llhttp turns a non-zero return into a user error
      spans[3 + n * 2] = off;
      spans[3 + n * 2 + 1] = len;
      spans[2] = n + 1;
      this.#lastKind = kind;
      return 0;
    };
    const instance = new WebAssembly.Instance(module, {
      env: {
        wasm_on_message_begin: (_p: number) => {
          spans[0] = 0;
          spans[1] = 0;
          spans[2] = 0;
          this.#lastKind = 0;
          return 0;
        },
        wasm_on_url: (_p: number, at: number, len: number) => {
          if (spans[1] === 0) spans[0] = at - this.#bufPtr;
          spans[1] += len;
          return 0;
        },
        wasm_on_status: () => 0,
        wasm_on_header_field: (_p: number, at: number, len: number) => span(1, at, len),
        wasm_on_header_value: (_p: number, at: number, len: number) => span(2, at, len),
        // 1 = skip the body: head-only measurement, see the module comment.
        wasm_on_headers_complete: () => 1,
        wasm_on_body: () => 0,
        wasm_on_message_complete: () => 0,
      },
    });
    this.#x = instance.exports as unknown as LlhttpExports;
    this.#parser = this.#x.llhttp_alloc(TYPE_REQUEST);
  }

  /** Parses one complete head; returns llhttp's error code (0 = OK). The hot call. */
  execute(bytes: Uint8Array): number {
    const x = this.#x;
    if (bytes.length > this.#bufSize) {
      if (this.#bufPtr) x.free(this.#bufPtr);
      // A multiple of 4096 bytes, as undici allocates.
      this.#bufSize = Math.ceil(bytes.length / 4096) * 4096;
      this.#bufPtr = x.malloc(this.#bufSize);
    }
    new Uint8Array(x.memory.buffer, this.#bufPtr, this.#bufSize).set(bytes);
    return x.llhttp_execute(this.#parser, this.#bufPtr, bytes.length);
  }

  /** Parses and decodes the spans into strings: for checking the glue, not for timing. */
  parse(bytes: Uint8Array): LlhttpHead {
    const ret = this.execute(bytes);
    if (ret !== ERROR_OK) {
      throw new Error(`llhttp: error ${ret} at byte ${this.#x.llhttp_get_error_pos(this.#parser) - this.#bufPtr}`);
    }
    const text = (off: number, len: number) => Buffer.from(bytes.buffer, bytes.byteOffset + off, len).toString('latin1');
    const s = this.spans;
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < s[2]; i += 2) {
      headers.push([text(s[3 + i * 2], s[4 + i * 2]), text(s[3 + (i + 1) * 2], s[4 + (i + 1) * 2])]);
    }
    const { METHODS } = require('undici/lib/llhttp/constants.js') as { METHODS: Record<string, number> };
    const code = this.#x.llhttp_get_method(this.#parser);
    const method = Object.keys(METHODS).find((k) => METHODS[k] === code) ?? String(code);
    return {
      method,
      target: text(s[0], s[1]),
      version: `${this.#x.llhttp_get_http_major(this.#parser)}.${this.#x.llhttp_get_http_minor(this.#parser)}`,
      headers,
    };
  }
}
