// The downstream seam: what the HTTP layer sees of one request from a listener, and what it may do
// with the response. One implementation per listener kind (host/listener/http1/, the core-parsed
// HTTP/1.1 listener, over a raw, TLS or PERMISSIVE transport; HTTP/2 listeners plug in here
// later); the HTTP layer never sees the sockets or the parser underneath.

import type { ConnectionSecurity } from '../tls/connection-security.js';
import type { TunnelEnd } from '../common/tunnel-end.js';
import type { RequestView, RequestViewError } from '../core/request-view.js';
import type { Trailers } from '../common/trailer-block.js';
import type { PropagationBytes } from '../common/propagation-bytes.js';

/** What the proxy hears from the downstream side of one request. */
export interface DownstreamHandler {
  /** A piece of request body (a private copy); `last` marks the end of the body. */
  onBodyData(chunk: Uint8Array, last: boolean): void;
  /** The client went away (or the connection closed) before the response completed. */
  onAborted(): void;
  /** The client drained what was buffered; the proxy may write (and resume the upstream) again. */
  onWritable(): void;
  /** The response was handed completely to the socket. */
  onResponseComplete(): void;
  /**
   * No byte moved either way for the stream idle timeout: answer 408 if nothing was sent, else
   * reset (listeners that keep no such timeout never call it).
   */
  onIdleTimeout?(): void;
  /**
   * The request body was malformed (`status` and the codec's `code` say how): answer that if
   * nothing was sent yet, else reset. The connection closes after either.
   */
  onProtocolError?(status: number, code: string): void;
}

/** Where a response head is written (uWS copies the bytes at once, so views are fine). */
export interface HeadSink {
  status(text: string | Uint8Array): void;
  header(name: string | Uint8Array, value: string | Uint8Array): void;
  /**
   * A field given as spans of `mem` (name [nameStart, nameEnd), value [valueStart, valueEnd)),
   * the same as header() with views of them but without making the views (a source with fields
   * in Wasm memory calls it when the sink has it). Optional: a sink without it gets header().
   * Called as a plain function (sources pass it on as a callback): it must not use `this`.
   */
  headerBytes?(mem: Uint8Array, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): void;
}

/**
 * Emits a response head into a sink. Called later than writeHead, but always in the same turn
 * of the event loop (before any other I/O callback runs), so views into reused memory that
 * are valid at writeHead stay valid.
 */
export interface HeadSource {
  emitHead(sink: HeadSink): void;
}

/** How the response body is framed downstream. */
export const enum BodyMode {
  /** No body (HEAD, 204, 304): the head ends the response. */
  None,
  /** Content-Length framing: tryEnd with the total. */
  Length,
  /** Unknown length: uWS chunk-encodes each write. */
  Stream,
  /**
   * A `101 Switching Protocols` to an upgrade request (`Downstream.upgrade`): the head goes out
   * with `connection: upgrade`, and the connection becomes a byte stream (`Downstream.tunnel`).
   */
  Upgrade,
}

/** One request as a listener hands it over. */
export interface Downstream {
  readonly method: string;
  /** The protocol as access logs print it (%PROTOCOL%); absent: HTTP/1.1. */
  readonly protocol?: 'HTTP/1.1' | 'HTTP/2';
  /**
   * Request-target: path plus `?query` when present. As received, until the stream normalizes
   * it in place (meshConfig pathNormalization, http/path-normalization.ts) before routing, as
   * Envoy rewrites :path: everything after (routing, authorization, upstream, access log) sees it so.
   */
  path: string;
  readonly authority: string;
  /**
   * Header fields, flat: name at even indices, its value after it; names lower-case, arrival
   * order. One array per request, which the HTTP stream edits in place (forwarded fields).
   */
  readonly headers: string[];
  /**
   * The trace context fields (B3, traceparent, tracestate) when the listener handed them over as
   * bytes, kept out of `headers` (host/common/propagation-bytes.ts): the tracing filter reads them
   * and writes the proxy's own, or puts them back into `headers`. Absent or null: they are in
   * `headers` as received.
   */
  readonly propagation?: PropagationBytes | null;
  /** The client's address (no port). */
  readonly remoteAddress: string;
  /**
   * The local address the connection was accepted on (no port; authorization's destination.ip);
   * undefined when the listener does not know it.
   */
  readonly localAddress?: string | undefined;
  /**
   * Where the client was connecting when a TPROXY capture handed the connection over (its
   * original destination); null or absent otherwise.
   */
  readonly originalDestination?: { readonly address: string; readonly port: number } | null;
  /**
   * What the connection's TLS established (mutual TLS, the peer's SPIFFE ID, XFCC element);
   * null on a listener without TLS.
   */
  readonly security: ConnectionSecurity | null;
  /**
   * Writes the first `count` fields of `headers`, as received, into the core's request view
   * (begun: method, path, authority) from the listener's own bytes, without their strings; false
   * when it cannot (those bytes are gone or are not `headers` one for one): the caller writes
   * the strings. Absent: the listener has no such bytes.
   */
  fillRequestView?(view: RequestView, count: number): RequestViewError | null | false;
  /** Request head size in bytes (request line + fields), for the head size limit. */
  readonly headBytes: number;
  /** Date.now() when the request arrived. */
  readonly startTime: number;
  /** Body bytes written downstream and received so far. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** The status sent downstream; 0 until a head is written. */
  readonly status: number;
  /** The response is still being written (not ended, not aborted). */
  readonly open: boolean;
  /** A response head was written. */
  readonly headSent: boolean;
  /**
   * The request body's framing as the listener read it: its length for `length` (above 0),
   * decoded chunks for `chunked`, nothing for `none`. The stream frames what it forwards from
   * this, never from the fields' text.
   */
  readonly bodyFraming: 'none' | 'length' | 'chunked';
  /** The body length for bodyFraming `length`; 0 otherwise. */
  readonly bodyLength: number;
  /**
   * The listener refused the request head itself (malformed, too large): the stream answers
   * with this status and the codec's stable code, and routes nothing. Null for a valid request.
   */
  readonly protocolError: { readonly status: number; readonly code: string } | null;
  /**
   * The protocol the request asks to upgrade to (`websocket`, as the client spelled it) when the
   * listener can carry the upgrade; null or absent otherwise (the Upgrade field is then dropped
   * as hop-by-hop, as before).
   */
  readonly upgrade?: string | null;

  /** Attaches the request's handler; starts reading the body when the request has one. */
  attach(handler: DownstreamHandler, expectBody: boolean): void;
  /** Pauses and resumes reading the request body (backpressure from the upstream). */
  pauseBody(): void;
  resumeBody(): void;
  /** A complete response generated by the proxy itself (local reply). */
  reply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string): void;
  /**
   * Hands over the response head: `source.emitHead` writes the status text and fields through a
   * sink (no framing fields: the listener writes them), in this turn of the event loop.
   */
  writeHead(status: number, source: HeadSource, mode: BodyMode, length?: number): void;
  /** Writes a body chunk (a view the caller may reuse); false under backpressure (wait for onWritable). */
  write(chunk: Uint8Array): boolean;
  /**
   * Ends a streamed body (a length-framed body ends by itself once complete). `trailers`: the
   * response's trailer fields, flat (lower-case names at even indices) or as bytes
   * (common/trailer-block.ts), written where the
   * protocol carries them (HTTP/2: a trailing HEADERS frame; gRPC needs them); HTTP/1.1 drops
   * them, as Envoy's HTTP/1 codec does by default.
   */
  end(trailers?: Trailers): void;
  /** Closes the connection at once, so that the client cannot take a partial response for a whole one. */
  abort(): void;
  /**
   * After writeHead(101, …, BodyMode.Upgrade): the connection as a raw byte stream (what the
   * client sent after its request head first). The stream ends with end() once the tunnel closed.
   * Null when no 101 was written. Absent on listeners that carry no upgrades.
   */
  tunnel?(): TunnelEnd | null;
}
