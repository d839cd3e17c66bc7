// What the HTTP/2 listener allows and when it gives up. Envoy's Http2ProtocolOptions defaults
// where they suit a Node process, and where they do not, the reason:
// - max_concurrent_streams: Envoy 2147483647 (unbounded). Here 1024: each stream holds a
//   JavaScript stream object and its buffers, and nghttp2 refuses streams past the setting with
//   REFUSED_STREAM, which clients retry on another connection.
// - initial_stream_window_size / initial_connection_window_size: Envoy 256 MiB each, a soft cap
//   on what its codec buffers. Node's session buffers whatever the window admits while a stream
//   is paused (upstream backpressure), so the window is what one client may park in the proxy:
//   1 MiB per stream and 16 MiB per connection (Envoy's edge guidance is 64 KiB / 1 MiB).
// - max header list: 60 KiB, the HTTP/1.1 head limit (Envoy max_request_headers_kb), and 100
//   fields (max_headers_count).
// - stream idle timeout 5 min and connection idle timeout 1 h: the HTTP/1.1 listener's options.
// - drain: GOAWAY with the last stream id; streams under way finish.

export interface Http2ListenerOptions {
  maxConcurrentStreams: number;
  /** Bytes the client may send on one stream before a WINDOW_UPDATE. */
  initialStreamWindowSize: number;
  /** Bytes the client may send on the whole connection before a WINDOW_UPDATE. */
  initialConnectionWindowSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes per request (names + values + 32 each). */
  maxHeaderListSize: number;
  /** Header fields per request, pseudo-headers excluded. */
  maxRequestHeaders: number;
  /** A stream with no byte moving either way is answered 408 or reset; 0 = off. */
  streamIdleTimeoutMs: number;
  /** A connection with no stream open is closed (GOAWAY) after this long; 0 = off. */
  idleTimeoutMs: number;
  /** Streams per connection, then GOAWAY; 0 = unlimited (Envoy max_requests_per_connection). */
  maxRequestsPerConnection: number;
}

export const DEFAULT_HTTP2_OPTIONS: Readonly<Http2ListenerOptions> = Object.freeze({
  maxConcurrentStreams: 1024,
  initialStreamWindowSize: 1024 * 1024,
  initialConnectionWindowSize: 16 * 1024 * 1024,
  maxHeaderListSize: 60 * 1024,
  maxRequestHeaders: 100,
  streamIdleTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
  maxRequestsPerConnection: 0,
});
