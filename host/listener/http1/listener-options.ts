// What the HTTP/1.1 listener refuses and when it gives up, with Envoy's defaults (connection
// manager and HTTP/1 codec options), all settable through the proxy's limits.

/** Istio's headersWithUnderscoresAction (Envoy's HttpProtocolOptions.headers_with_underscores_action). */
export type UnderscoreAction = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';

export interface Http1ListenerOptions {
  /** Request head bytes (Envoy max_request_headers_kb: 60 KiB; the core parses at most 60 KiB) → 431. */
  maxRequestHeadBytes: number;
  /** Request header fields (Envoy max_headers_count: 100; the core parses at most 100) → 431. */
  maxRequestHeaders: number;
  /** A connection with no request in flight is closed after this long (Envoy idle_timeout: 1 h). */
  idleTimeoutMs: number;
  /** A request with no byte moving either way is answered 408 or reset (Envoy stream_idle_timeout: 5 min). */
  streamIdleTimeoutMs: number;
  /** Time allowed from a head's first byte to its end; 0 = off (Envoy request_headers_timeout). */
  requestHeadersTimeoutMs: number;
  /** Requests per connection, then `connection: close`; 0 = unlimited (Envoy max_requests_per_connection). */
  maxRequestsPerConnection: number;
  /** Open downstream connections per listener; 0 = unlimited (Envoy's overload manager limit). */
  maxConnections: number;
  /** Bytes of pipelined requests read ahead while one is answered, before reading pauses. */
  pipelineBufferBytes: number;
  headersWithUnderscoresAction: UnderscoreAction;
  /** The `server` field on the listener's own answers (400s, 408s); null: none. */
  serverName: string | null;
}

export const DEFAULT_HTTP1_OPTIONS: Readonly<Http1ListenerOptions> = Object.freeze({
  maxRequestHeadBytes: 60 * 1024,
  maxRequestHeaders: 100,
  idleTimeoutMs: 3_600_000,
  streamIdleTimeoutMs: 300_000,
  requestHeadersTimeoutMs: 0,
  maxRequestsPerConnection: 0,
  maxConnections: 0,
  pipelineBufferBytes: 64 * 1024,
  headersWithUnderscoresAction: 'ALLOW',
  serverName: 'wasmesh',
});
