// Every data-path limit in one object, with Envoy's (or Istio's) default beside each, so that an
// operator reads one place to learn what the proxy refuses and when it gives up.

export interface Limits {
  /** Downstream request head size in bytes (Envoy max_request_headers_kb: 60 KiB) → 431. */
  maxRequestHeadBytes: number;
  /** Downstream request header count (Envoy max_headers_count: 100) → 431. */
  maxRequestHeaders: number;
  // Upstream response heads: 60 KiB and 100 fields (Envoy's defaults), fixed in the core's
  // parser (host/core/codec/codec-layout.ts MAX_HEAD_BYTES, MAX_HEADERS) → 502 UPE; not
  // configurable yet.
  /** TCP connect timeout to an endpoint (Envoy/Istio connectTimeout: 10 s) → 503 UF. */
  connectTimeoutMs: number;
  /** How long an idle pooled upstream connection is kept (Envoy idle_timeout: 1 h). */
  upstreamIdleTimeoutMs: number;
  /** Connections per cluster without a DestinationRule policy (Envoy circuit breaker max_connections: 1024) → 503 UO. */
  maxConnectionsPerCluster: number;
  /**
   * Requests waiting for a connection per cluster without a DestinationRule policy (Envoy
   * max_pending_requests: 1024; 0 = none wait) → 503 UO.
   */
  maxPendingPerCluster: number;
  /** Request timeout when the route sets none; 0 = none (Istio's default for HTTP routes). */
  defaultRouteTimeoutMs: number;
  /** Bytes of request body buffered while the upstream connection is not yet writable (then the client is paused). */
  requestBufferBytes: number;
  /**
   * Request body bytes kept so that a retry (or a mirror) can replay them (Envoy's
   * per_request_buffer_limit_bytes, which defaults to the listener's 1 MiB buffer limit). A
   * body that grows beyond it is still proxied, but is never retried or mirrored.
   */
  retryBufferBytes: number;
  /** Timeout of a mirrored copy when its route sets none (Envoy's default route timeout, 15 s). */
  mirrorTimeoutMs: number;
  /** How long close() lets in-flight requests finish before aborting them. */
  drainTimeoutMs: number;
  /** A downstream connection with no request is closed after this long (Envoy idle_timeout: 1 h). */
  downstreamIdleTimeoutMs: number;
  /** A request with nothing moving either way is answered 408 or reset (Envoy stream_idle_timeout: 5 min; flag SI). */
  streamIdleTimeoutMs: number;
  /** From a head's first byte to its end; 0 = off (Envoy request_headers_timeout, off by default) → 408. */
  requestHeadersTimeoutMs: number;
  /** Requests per downstream connection, then `connection: close`; 0 = unlimited (Envoy's default). */
  maxRequestsPerConnection: number;
  /** Open downstream connections per listener; 0 = unlimited (Envoy: no limit unless configured). */
  maxDownstreamConnections: number;
  /**
   * TCP proxy: bytes queued toward the downstream before the upstream's reading is paused
   * (resumed under half) — Envoy's listener per_connection_buffer_limit_bytes, 1 MiB, which
   * Istio keeps. A soft limit as Envoy's: the read that crosses it is still queued.
   */
  perConnectionBufferLimitBytes: number;
  /** TCP proxy: the same toward the upstream (pausing the downstream) — Envoy's cluster per_connection_buffer_limit_bytes, 1 MiB. */
  upstreamPerConnectionBufferLimitBytes: number;
  /**
   * Istio's TCP metadata exchange: the largest peer metadata (the Any after the 8-byte header)
   * taken; a larger one closes the connection (`metadata_exchange.too_large`). Istio's filter has
   * no bound; the HTTP exchange is bounded by Envoy's 60 KiB request head, so 60 KiB here too.
   */
  maxPeerMetadataBytes: number;
  // HTTP/2 on the core codec (listener/http2-core/, the core upstream pool): Envoy's
  // http2_protocol_options flood limits, both sides (core/h2/h2-flood-guard.ts) → GOAWAY
  // ENHANCE_YOUR_CALM, `http2.<reason>`.
  /** Frames queued for a peer that does not read (max_outbound_frames: 10000). */
  http2MaxOutboundFrames: number;
  /** PING/SETTINGS ACKs and RST_STREAM among them (max_outbound_control_frames: 1000). */
  http2MaxOutboundControlFrames: number;
  /** Consecutive inbound frames with an empty payload and no END_STREAM (max_consecutive_inbound_frames_with_empty_payload: 1). */
  http2MaxConsecutiveInboundFramesWithEmptyPayload: number;
  /** Inbound PRIORITY frames per stream opened (max_inbound_priority_frames_per_stream: 100). */
  http2MaxInboundPriorityFramesPerStream: number;
  /** Inbound WINDOW_UPDATE frames per DATA frame sent (max_inbound_window_update_frames_per_data_frame_sent: 10). */
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: number;
  /** Our SETTINGS unacknowledged this long → GOAWAY SETTINGS_TIMEOUT, both sides; 0 = off (Envoy: none; wasmesh 10 s). */
  http2SettingsTimeoutMs: number;
  /**
   * Upstream HTTP/2 PING keepalive (Envoy cluster http2_protocol_options.connection_keepalive):
   * a PING every interval (less up to 15 % jitter); no ACK within the timeout closes the
   * connection (`http2.keepalive_timeout`). 0 = off, Envoy's default (Istio's DestinationRule
   * has no field for it; its tcp.tcpKeepalive sets TCP probes, applied as before).
   */
  upstreamHttp2KeepaliveIntervalMs: number;
  /** How long to wait for the keepalive PING's ACK (Envoy connection_keepalive.timeout; wasmesh default 20 s). */
  upstreamHttp2KeepaliveTimeoutMs: number;
  /** A PING before a new stream on a connection quiet this long (Envoy connection_idle_interval); 0 = off. */
  upstreamHttp2ConnectionIdleIntervalMs: number;
  /** Downstream HTTP/2 PING keepalive (Envoy HCM http2_protocol_options.connection_keepalive; core listener): 0 = off, Envoy's default. */
  downstreamHttp2KeepaliveIntervalMs: number;
  /** How long a client has to ACK it (wasmesh default 20 s), then the connection closes (`http2.keepalive_timeout`). */
  downstreamHttp2KeepaliveTimeoutMs: number;
  /**
   * HTTP/2 listeners (both codecs): SETTINGS_INITIAL_WINDOW_SIZE, the request bytes a client may
   * send on one stream before a WINDOW_UPDATE (Envoy HCM http2_protocol_options
   * initial_stream_window_size: 256 MiB; wasmesh 1 MiB, what a paused stream may park here).
   * 65535..2^31-1.
   */
  downstreamHttp2InitialStreamWindowSize: number;
  /** The same for the whole connection (Envoy initial_connection_window_size: 256 MiB; wasmesh 16 MiB). 65535..2^31-1. */
  downstreamHttp2InitialConnectionWindowSize: number;
  /**
   * Upstream HTTP/2 (core pool): the SETTINGS_INITIAL_WINDOW_SIZE announced to the server, the
   * response bytes it may send on one stream before a WINDOW_UPDATE (Envoy cluster
   * http2_protocol_options initial_stream_window_size: 256 MiB; wasmesh 1 MiB, what a stream
   * paused by a slow client may park here). 65535..2^31-1.
   */
  upstreamHttp2InitialStreamWindowSize: number;
  /** The same for the whole upstream connection (Envoy initial_connection_window_size: 256 MiB; wasmesh 16 MiB). 65535..2^31-1. */
  upstreamHttp2InitialConnectionWindowSize: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxRequestHeadBytes: 60 * 1024,
  maxRequestHeaders: 100,
  connectTimeoutMs: 10_000,
  upstreamIdleTimeoutMs: 3_600_000,
  maxConnectionsPerCluster: 1024,
  maxPendingPerCluster: 1024,
  defaultRouteTimeoutMs: 0,
  requestBufferBytes: 64 * 1024,
  retryBufferBytes: 1024 * 1024,
  mirrorTimeoutMs: 15_000,
  drainTimeoutMs: 5_000,
  downstreamIdleTimeoutMs: 3_600_000,
  streamIdleTimeoutMs: 300_000,
  requestHeadersTimeoutMs: 0,
  maxRequestsPerConnection: 0,
  maxDownstreamConnections: 0,
  perConnectionBufferLimitBytes: 1024 * 1024,
  upstreamPerConnectionBufferLimitBytes: 1024 * 1024,
  maxPeerMetadataBytes: 60 * 1024,
  http2MaxOutboundFrames: 10_000,
  http2MaxOutboundControlFrames: 1_000,
  http2MaxConsecutiveInboundFramesWithEmptyPayload: 1,
  http2MaxInboundPriorityFramesPerStream: 100,
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: 10,
  http2SettingsTimeoutMs: 10_000,
  upstreamHttp2KeepaliveIntervalMs: 0,
  upstreamHttp2KeepaliveTimeoutMs: 20_000,
  upstreamHttp2ConnectionIdleIntervalMs: 0,
  downstreamHttp2KeepaliveIntervalMs: 0,
  downstreamHttp2KeepaliveTimeoutMs: 20_000,
  downstreamHttp2InitialStreamWindowSize: 1024 * 1024,
  downstreamHttp2InitialConnectionWindowSize: 16 * 1024 * 1024,
  upstreamHttp2InitialStreamWindowSize: 1024 * 1024,
  upstreamHttp2InitialConnectionWindowSize: 16 * 1024 * 1024,
});

/** Limits that may be 0 (meaning off or unlimited). */
/** Limits where 0 is a real amount: no request waits for a connection (overflow at once). */
const ZERO_MEANS_NONE = new Set<keyof Limits>(['maxPendingPerCluster']);
const ZERO_MEANS_OFF = new Set<keyof Limits>(['defaultRouteTimeoutMs', 'requestHeadersTimeoutMs', 'maxRequestsPerConnection', 'maxDownstreamConnections', 'downstreamIdleTimeoutMs', 'streamIdleTimeoutMs', 'http2SettingsTimeoutMs', 'upstreamHttp2KeepaliveIntervalMs', 'upstreamHttp2ConnectionIdleIntervalMs', 'downstreamHttp2KeepaliveIntervalMs']);

/** Merges overrides onto the defaults; a non-positive or non-integer value is a clear error. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides) as Array<[keyof Limits, number | undefined]>) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new Error(`wasmesh: unknown limit '${key}' (LIMIT_UNKNOWN)`);
    const zeroOk = ZERO_MEANS_OFF.has(key) || ZERO_MEANS_NONE.has(key);
    if (!Number.isInteger(value) || value < 0 || (value === 0 && !zeroOk)) {
      throw new Error(`wasmesh: limit '${key}' must be a positive integer, got ${value} (LIMIT_INVALID)`);
    }
    const cap = CAPS[key];
    if (cap !== undefined && value > cap.max) {
      throw new Error(`wasmesh: limit '${key}' can be at most ${cap.max} (${cap.why}), got ${value} (LIMIT_INVALID)`);
    }
    const floor = FLOORS[key];
    if (floor !== undefined && value < floor.min) {
      throw new Error(`wasmesh: limit '${key}' must be at least ${floor.min} (${floor.why}), got ${value} (LIMIT_INVALID)`);
    }
    out[key] = value;
  }
  return out;
}

/** Limits the core fixes at build time: settable below, never above. */
/** HTTP/2 flow-control windows (RFC 9113 §6.9: a window is at most 2^31-1; Envoy takes 65535 up). */
const WINDOW_WHY = 'an HTTP/2 window, RFC 9113 §6.9.1 and Envoy\'s range 65535..2147483647';
const FLOORS: Partial<Record<keyof Limits, { min: number; why: string }>> = {
  downstreamHttp2InitialStreamWindowSize: { min: 65_535, why: WINDOW_WHY },
  downstreamHttp2InitialConnectionWindowSize: { min: 65_535, why: WINDOW_WHY },
  upstreamHttp2InitialStreamWindowSize: { min: 65_535, why: WINDOW_WHY },
  upstreamHttp2InitialConnectionWindowSize: { min: 65_535, why: WINDOW_WHY },
};

const CAPS: Partial<Record<keyof Limits, { max: number; why: string }>> = {
  downstreamHttp2InitialStreamWindowSize: { max: 2_147_483_647, why: WINDOW_WHY },
  downstreamHttp2InitialConnectionWindowSize: { max: 2_147_483_647, why: WINDOW_WHY },
  upstreamHttp2InitialStreamWindowSize: { max: 2_147_483_647, why: WINDOW_WHY },
  upstreamHttp2InitialConnectionWindowSize: { max: 2_147_483_647, why: WINDOW_WHY },
  maxRequestHeadBytes: { max: 60 * 1024, why: 'the core\'s request-head parser reads at most 60 KiB' },
  maxRequestHeaders: { max: 100, why: 'the core\'s request-head parser keeps at most 100 fields' },
};
