// SETTINGS (RFC 9113 §6.5) either side of an HTTP/2 connection keeps: the identifiers, the
// RFC's initial values, and what the peer announced, applied as its SETTINGS frames arrive. The
// frame scanner has already refused out-of-range values (ENABLE_PUSH, INITIAL_WINDOW_SIZE,
// MAX_FRAME_SIZE); what is left here is remembering them and the one that changes open streams:
// INITIAL_WINDOW_SIZE moves every stream's send window by the difference (§6.9.2), which the
// connection applies. Shared by the core codec's listener (listener/http2-core/) and its
// upstream connection (upstream/conn-pool/http2/core-h2-upstream-connection.ts).

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

/** RFC 9113 §6.5.2 initial values. */
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_FRAME_SIZE = 16_384;
export const MAX_WINDOW = 0x7fffffff;

/** What the peer announced (defaults until its first SETTINGS frame). */
export class PeerSettings {
  headerTableSize = 4096;
  initialWindowSize = DEFAULT_WINDOW;
  maxFrameSize = DEFAULT_FRAME_SIZE;
  maxHeaderListSize = Infinity;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams this side may open (a client's limit; unlimited until announced). */
  maxConcurrentStreams = Infinity;
  /** SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): the peer takes an extended CONNECT. */
  enableConnectProtocol = false;

  /** Applies one frame's pairs; returns how much INITIAL_WINDOW_SIZE changed (0: not at all). */
  apply(pairs: ReadonlyArray<readonly [number, number]>): number {
    let delta = 0;
    for (const [id, value] of pairs) {
      switch (id) {
        case SETTINGS_HEADER_TABLE_SIZE: this.headerTableSize = value; break;
        case SETTINGS_INITIAL_WINDOW_SIZE:
          delta += value - this.initialWindowSize;
          this.initialWindowSize = value;
          break;
        case SETTINGS_MAX_FRAME_SIZE: this.maxFrameSize = value; break;
        case SETTINGS_MAX_HEADER_LIST_SIZE: this.maxHeaderListSize = value; break;
        case SETTINGS_MAX_CONCURRENT_STREAMS: this.maxConcurrentStreams = value; break;
        case SETTINGS_ENABLE_CONNECT_PROTOCOL: this.enableConnectProtocol = value === 1; break;
        default: break; // ENABLE_PUSH, unknown ids (§6.5.2: ignored)
      }
    }
    return delta;
  }
}
