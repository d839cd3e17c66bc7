// The HTTP/1 codec port an Http1Connection reads responses with (response head parse, chunked
// body decode) and the router reads the parsed head's fields through, so that the connection
// reads as a protocol, not as Wasm bookkeeping. Implemented by core-http1-codec.ts.
import type { ResponseFields, ResponseHead } from '../../upstream-head.js';

/** A parsed HTTP/1 response head: the router's numbers plus what the connection frames by. */
export interface Http1ResponseHead extends ResponseHead {
  /** Bytes of the head, status line to blank line: the body starts after them. */
  headLength: number;
  /** The connection may carry another exchange after this one (no `connection: close`, not close-delimited). */
  keepAlive: boolean;
}

export type ResponseHeadResult =
  | { status: 'ok'; head: Http1ResponseHead }
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

/** One per thread (it holds the last parsed head: a head's fields are read before the next parse). */
export interface Http1Codec extends ResponseFields {
  /** Parses a response head from the start of `bytes`; the response to HEAD has no body. */
  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult;
  chunkedDecoder(): ChunkedDecoder;
}
