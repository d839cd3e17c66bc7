// The codec operations the data path needs from the core (response head parse, chunked body
// decode, request head write, response head filter), as one port so that the connection and
// stream code read as a protocol, not as Wasm bookkeeping. Implemented by core-codec.ts.
import type { HeaderOps } from '../model/mesh.js';

export type Framing = 'none' | 'length' | 'chunked' | 'close';

/** The numbers of a parsed response head; its fields stay in the codec until the next parse. */
export interface ResponseHead {
  code: number;
  headLength: number;
  framing: Framing;
  /** The Content-Length value, or -1 when absent. */
  contentLength: number;
  keepAlive: boolean;
}

export type ResponseHeadResult =
  | { status: 'ok'; head: ResponseHead }
  | { status: 'incomplete' }
  | { status: 'error'; code: string };

export interface ChunkedDecodeResult {
  /** Bytes of the input consumed (the rest belongs to whatever follows the message). */
  consumed: number;
  /** The terminating chunk and trailers were read. */
  done: boolean;
  /** Stable error code, or null. */
  error: string | null;
}

/** A chunked-body decoder, reset per message; `onData` receives views into `bytes`. */
export interface ChunkedDecoder {
  reset(): void;
  push(bytes: Uint8Array, onData: (data: Uint8Array) => void): ChunkedDecodeResult;
  dispose(): void;
}

/** A header edit list compiled once per config version; disposed when the version is freed. */
export interface EditHandle {
  dispose(): void;
}

export type RequestFraming = 'none' | 'length' | 'chunked';

export interface UpstreamCodec {
  /** Parses a response head from the start of `bytes`; the response to HEAD has no body. */
  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult;
  /** The last parsed head's "200 OK" status text and filtered fields, valid only synchronously. */
  forEachResponseField(edits: EditHandle, keepContentLength: boolean, statusText: (s: Uint8Array) => void, field: (name: Uint8Array, value: Uint8Array) => void): void;
  chunkedDecoder(): ChunkedDecoder;
  encodeEdits(ops: HeaderOps): EditHandle;
  /** The upstream request head for the request currently in the core's request view. */
  writeRequestHead(edits: EditHandle, framing: RequestFraming, contentLength: number): Uint8Array;
}
