// What the core codec's HTTP/2 listener allows: the node:http2 listener's options
// (http2/http2-options.ts), with Envoy's http2_protocol_options default where the reason for
// departing from it there does not hold here:
// - max_concurrent_streams: Envoy's 2147483647. A stream here is a small record (no nghttp2
//   session memory cap, no per-stream Node stream object), and what a stream may buffer is bounded
//   by the windows below, not by the count.
// - initial stream / connection windows: 1 MiB / 16 MiB as on the node:http2 listener, not
//   Envoy's 256 MiB: while a stream's handler is paused (upstream backpressure) what the window
//   admits is held in this process.
// - header list 60 KiB and 100 fields (Envoy max_request_headers_kb / max_headers_count); the
//   HPACK decoder's field table holds at most 256 fields, so the count limit is capped there.
// - flood limits: Envoy's http2_protocol_options defaults (core/h2/h2-flood-guard.ts).
// - keepalive PINGs: off, as Envoy's connection_keepalive unset (core/h2/h2-keepalive.ts).
// - SETTINGS ACK timeout: 10 s (Envoy has none; core/h2/h2-settings-timeout.ts).
import { DEFAULT_HTTP2_OPTIONS, type Http2ListenerOptions } from '../http2/http2-options.js';
import { DEFAULT_H2_CONNECTION_SETTINGS, type H2ConnectionSettings } from '../../core/h2/h2-connection-settings.js';

/** The node:http2 listener's options, and the connection protections (keepalive: Envoy's HCM connection_keepalive). */
export interface CoreHttp2Options extends Http2ListenerOptions, H2ConnectionSettings {}

export const DEFAULT_CORE_HTTP2_OPTIONS: Readonly<CoreHttp2Options> = Object.freeze({
  ...DEFAULT_HTTP2_OPTIONS,
  maxConcurrentStreams: 2_147_483_647,
  ...DEFAULT_H2_CONNECTION_SETTINGS,
});

/** Bytes queued for the socket past which DATA waits (Envoy's per_connection_buffer_limit_bytes, 1 MiB). */
export const CONNECTION_BUFFER_LIMIT = 1024 * 1024;
/** Bytes a stream may hold queued (waiting for window) before write() asks the writer to wait. */
export const STREAM_BUFFER_LIMIT = 64 * 1024;
