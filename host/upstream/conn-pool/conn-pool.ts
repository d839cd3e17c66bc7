// The seam between the router and the upstream protocols (Envoy's ConnPool::Instance): the
// router asks an endpoint's pool for a stream and, once one is ready, encodes its request on it
// and gets the response through its handler, without knowing what the pool speaks: HTTP/1 today
// (http1/, one exchange per connection at a time), HTTP/2 (many streams per connection) and TCP
// later, each a new implementation of these interfaces.
import type { H2ConnectionSettings } from '../../core/h2/h2-connection-settings.js';
import type { ResponseHead } from '../upstream-head.js';
import type { TunnelEnd } from '../../common/tunnel-end.js';
import type { Trailers } from '../../common/trailer-block.js';

/** Why a pool gave no stream (Envoy's PoolFailureReason). */
export type PoolFailure =
  /** The cluster's connection limit and pending queue are full, or the pool is closed (503 UO). */
  | 'overflow'
  /** The connection was refused or failed while connecting (503 UF). */
  | 'connect_fail'
  /** No connection within the cluster's connect timeout (503 UF). */
  | 'connect_timeout';

/** A stream request that may be withdrawn (client gone, timeout) before it completes. */
export interface Cancellable {
  /** No callback follows; a connection opening for it stays in the pool. */
  cancel(): void;
}

/**
 * What a pool reports to whoever asked for a stream (Envoy's ConnectionPool::Callbacks). The
 * router and the mirror implement it themselves, so that a request costs no closure here.
 */
export interface PoolCallbacks {
  /** A stream is ready: start it, or hand it back with ConnPool.release. */
  onPoolReady(stream: UpstreamStream): void;
  onPoolFailure(failure: PoolFailure): void;
}

export type UpstreamFailure =
  /** Closed or reset before a complete response head arrived. */
  | 'reset_before_head'
  /** Closed or reset after the head, before the body completed. */
  | 'reset_mid_response'
  /** The response head or body framing was invalid (or the head too large). */
  | 'protocol_error'
  /** HTTP/2: the upstream reset the stream (RST_STREAM) before the response completed (503 UR). */
  | 'remote_reset'
  /**
   * HTTP/2: the upstream refused the stream (RST_STREAM REFUSED_STREAM, or a GOAWAY whose
   * last-stream-id is below it): it was never processed, so it is retriable (Envoy's refused-stream).
   */
  | 'refused_stream';

/** The response side of one exchange (Envoy's ResponseDecoder), driven by the stream. */
export interface ExchangeHandler {
  onResponseHead(head: ResponseHead): void;
  /** `data` may be a view into a reused buffer; return false to pause the upstream. */
  onResponseData(data: Uint8Array): boolean;
  /**
   * The response is complete. `trailers`: the response's trailer fields, flat (lower-case name at
   * even indices, its value after it) or as bytes (common/trailer-block.ts: the core codec's), when
   * the upstream protocol carries them (HTTP/2 and gRPC's grpc-status / grpc-message); absent when
   * there were none (HTTP/1 drops them, as Envoy).
   */
  onResponseEnd(trailers?: Trailers): void;
  /** `stale`: a reused connection died before any response byte, so a retry is safe if the request is replayable. */
  onUpstreamFailure(failure: UpstreamFailure, stale: boolean): void;
  /** The stream can take body bytes again after writeBody returned false. */
  onRequestDrain(): void;
}

/** What the stream must know of the request before its head goes out. */
export interface StreamStart {
  /** The method is HEAD: the response has no body whatever its head says. */
  isHead: boolean;
  /** The body goes chunk-encoded (the downstream sent chunked; its own framing is gone). */
  chunked: boolean;
  hasBody: boolean;
  /**
   * An HTTP/1.1 upgrade (WebSocket): the head carries Upgrade. The core HTTP/2 pool sends it as
   * an extended CONNECT (RFC 8441) and reads only such heads in JS; absent: false.
   */
  upgrade?: boolean;
}

/**
 * The request side of one exchange on a pooled connection (Envoy's RequestEncoder). After
 * onResponseEnd or onUpstreamFailure the stream belongs to its pool again: drop it.
 */
export interface UpstreamStream {
  /**
   * Present when the pool reuses the stream object for later exchanges (the core HTTP/2
   * connection's, core-h2-upstream-stream-pool.ts): it moves when this exchange ends. A holder
   * keeps the value it was given at onPoolReady and calls nothing once it differs: the object is
   * then another exchange's (router/live-stream.ts).
   */
  readonly generation?: number;
  /**
   * Sends the request head; the body follows with writeBody / endRequest. `head` is HTTP/1.1
   * bytes, written by the core once per request while its request view holds the request
   * (RouterContext.writeHead): the HTTP/1 stream sends them as they are. HTTP/2 will encode
   * its HEADERS frame at that same point, by a core writer that takes the same request view
   * and edit lists and yields a field block; this parameter then carries that protocol's head.
   */
  start(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void;
  /** Sends request body bytes; false means backed up (wait for onRequestDrain). */
  writeBody(chunk: Uint8Array): boolean;
  /** The request body is complete. */
  endRequest(): void;
  /** Stops response data (the downstream is backed up) until resumeResponse. */
  pauseResponse(): void;
  resumeResponse(): void;
  /** Cancels the exchange (client gone, timeout, a retried response): no callback follows. */
  abort(): void;
  /**
   * Inside onResponseHead of a `101 Switching Protocols`: takes the connection out of its pool
   * for good as a raw byte stream (WebSocket); no exchange callback follows. Null when the
   * response is no 101. Absent on protocols that carry no HTTP/1.1 upgrade.
   */
  upgrade?(): TunnelEnd | null;
}

/** How a pool treats its connections (DestinationRule connectionPool, or the proxy-wide limits). */
export interface PoolSettings {
  /** TCP connect timeout (Istio tcp.connectTimeout) → connect_timeout (503 UF). */
  connectTimeoutMs: number;
  /** An idle pooled connection closes after this long (Istio http.idleTimeout). */
  idleTimeoutMs: number;
  /**
   * TCP keepalive (Istio tcp.tcpKeepalive). Node sets only the idle time before the first probe
   * (SO_KEEPALIVE + TCP_KEEPIDLE); interval and probe count stay at the OS defaults.
   */
  tcpKeepalive: { timeMs: number; intervalMs: number; probes: number } | null;
  /**
   * HTTP/2 only: streams per connection (Istio http.maxConcurrentStreams, Envoy
   * http2_protocol_options.max_concurrent_streams); absent or 0: Envoy's 2^31 - 1, so the
   * server's SETTINGS_MAX_CONCURRENT_STREAMS decides.
   */
  maxConcurrentStreams?: number;
  /**
   * HTTP/2 on the core codec only: Envoy's flood limits, PING keepalive, the SETTINGS ACK timeout
   * (core-h2-upstream-connection.ts); absent: their defaults (DEFAULT_H2_CONNECTION_SETTINGS).
   */
  http2?: Readonly<H2ConnectionSettings>;
}

/** The pool of one endpoint (address:port) of a cluster, kept across config versions. */
export interface ConnPool {
  readonly address: string;
  readonly port: number;
  /** `address:port`: the endpoint as the access log and the pool map name it. */
  readonly key: string;
  /** Requests currently using (or waiting for) this endpoint; the request path counts them. */
  activeRequests: number;
  /** Connections for GET /clusters. */
  readonly connections: { active: number; idle: number; connecting: number };
  /**
   * Asks for a stream: `callbacks.onPoolReady` runs at once when a connection is free, else
   * once one is (a new connection, or one freed while the cluster is at its connection limit),
   * or `onPoolFailure` runs. The result withdraws a request still waiting.
   */
  newStream(callbacks: PoolCallbacks): Cancellable;
  /** Hands back a stream this pool gave to onPoolReady and that was not started (`reusable`: it may serve another request). */
  release(stream: UpstreamStream, reusable: boolean): void;
  /** No new connections; idle ones close now, busy ones when their exchange ends. */
  close(): void;
  /** Destroys every connection, busy ones included (shutdown after the drain period). */
  destroyAll(): void;
}
