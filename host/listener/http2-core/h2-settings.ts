// SETTINGS (RFC 9113 §6.5): what this server announces, from the listener's options, and what
// the client announced, applied as its SETTINGS frames arrive. The frame scanner has already
// refused out-of-range values (ENABLE_PUSH, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE); what is left
// here is remembering them and the one that changes open streams: INITIAL_WINDOW_SIZE moves
// every stream's send window by the difference (§6.9.2), which the connection applies.
import type { CoreHttp2Options } from './core-http2-options.js';

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

/** This server's SETTINGS frame payload, as [id, value]. */
export function localSettings(o: CoreHttp2Options): Array<[number, number]> {
  return [
    [SETTINGS_ENABLE_PUSH, 0],
    [SETTINGS_MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
    [SETTINGS_INITIAL_WINDOW_SIZE, o.initialStreamWindowSize],
    [SETTINGS_MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    // RFC 8441: clients may open WebSockets with an extended CONNECT (:protocol websocket).
    [SETTINGS_ENABLE_CONNECT_PROTOCOL, 1],
  ];
}

/** What the client announced (defaults until its first SETTINGS frame). */
export class PeerSettings {
  headerTableSize = 4096;
  initialWindowSize = DEFAULT_WINDOW;
  maxFrameSize = DEFAULT_FRAME_SIZE;
  maxHeaderListSize = Infinity;

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
        default: break; // ENABLE_PUSH, MAX_CONCURRENT_STREAMS (this server opens no streams), unknown ids (§6.5.2: ignored)
      }
    }
    return delta;
  }
}
