// What the router and every connection pool share about message heads, whatever the protocol:
// the numbers of a response head and where its fields are read from, the request body's
// framing, and the header edit lists the core applies in both directions.

/**
 * How a response body is delimited. 'chunked' and 'close' are HTTP/1's; to the router both are
 * a body of unknown length, streamed.
 */
export type ResponseFraming = 'none' | 'length' | 'chunked' | 'close';

/** How the request body goes upstream (the head says so: content-length, chunked, or none). */
export type RequestFraming = 'none' | 'length' | 'chunked';

/** A header edit list compiled once per config version (in the core); disposed when the version is freed. */
export interface EditHandle {
  dispose(): void;
}

/**
 * The fields of the response head a pool just delivered, as they go downstream. Valid only in
 * the turn of the event loop that delivered the head: they may be views into memory the next
 * parse reuses.
 */
export interface ResponseFields {
  /**
   * The status text ("OK"), then each field with hop-by-hop and framing fields dropped and
   * `edits` applied; `keepContentLength` keeps content-length (a HEAD or 304 response, which
   * has no body to frame). With `fieldBytes`, fields whose bytes are in one memory go to it as
   * spans of that memory instead of to `field` as views (no view made per field).
   */
  forEachResponseField(edits: EditHandle, keepContentLength: boolean, statusText: (s: Uint8Array) => void, field: (name: Uint8Array, value: Uint8Array) => void,
    fieldBytes?: (mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => void): void;
}

/** A response head as the router sees it: its numbers, and where its fields are. */
export interface ResponseHead {
  code: number;
  framing: ResponseFraming;
  /** The Content-Length value, or -1 when absent. */
  contentLength: number;
  /**
   * Its fields. The pool's codec, which holds the last head it parsed: a reference, not an
   * object per response.
   */
  fields: ResponseFields;
  /**
   * The grpc-status of a gRPC response whose head carries it (a trailers-only response, HTTP/2
   * upstream): for the retry policy's gRPC conditions and grpc_response_status; absent or -1: none.
   */
  grpcStatus?: number;
}
