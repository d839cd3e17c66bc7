// The codec operations the upstream side needs (response head parse, chunked body decode,
// request head write), as one port so that the connection code does not care whether the
// bytes are handled by the Wasm core (host/core/codec.ts) or the interim JS adapter.

export type Framing = 'none' | 'length' | 'chunked' | 'close';

export interface ResponseHead {
  code: number;
  reason: string;
  /** Header fields as received; names lower-case. */
  headers: Array<[string, string]>;
  headLength: number;
  framing: Framing;
  /** Valid when framing is 'length'. */
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

/** A per-message chunked decoder; `onData` receives views into `bytes` (copy if kept). */
export interface ChunkedDecoder {
  push(bytes: Uint8Array, onData: (data: Uint8Array) => void): ChunkedDecodeResult;
}

/** What the head writer needs to build an upstream request head. */
export interface UpstreamRequestHead {
  method: string;
  /** Request-target as received (path + query). */
  path: string;
  authority: string;
  /** Downstream headers, names lower-case, in arrival order. */
  headers: ReadonlyArray<readonly [string, string]>;
  /** Header edits, applied in order: remove, then set (replace), then add (append). */
  remove: readonly string[];
  set: ReadonlyArray<readonly [string, string]>;
  add: ReadonlyArray<readonly [string, string]>;
  /** How the body goes upstream: none, content-length, or chunked re-encoding. */
  framing: 'none' | 'length' | 'chunked';
  contentLength: number;
}

export interface UpstreamCodec {
  /** Parses a response head from the start of `bytes`; the response to HEAD has no body. */
  parseResponseHead(bytes: Uint8Array, requestMethodIsHead: boolean): ResponseHeadResult;
  chunkedDecoder(): ChunkedDecoder;
  writeRequestHead(req: UpstreamRequestHead): Uint8Array;
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) and framing fields the proxy regenerates; never
 * forwarded in either direction.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length',
]);
