// Envoy's HTTP/2 flood protection (its codec's ProtocolConstraints, the http2_protocol_options
// limits) for one connection of the core codec, either side: the listener's connections to
// clients (listener/http2-core/) and the pool's connections to servers
// (upstream/conn-pool/http2/core-h2-upstream-connection.ts). A peer that makes this side queue
// frames it never reads, or sends frames that cost work and carry nothing, gets the connection
// closed with GOAWAY ENHANCE_YOUR_CALM and is counted under Envoy's stat name (`http2.<reason>`).
//
// - outbound: frames queued and not yet taken by the socket (max_outbound_frames 10000), control
//   frames among them — PING and SETTINGS ACKs, RST_STREAM (max_outbound_control_frames 1000). An
//   inbound PING or SETTINGS flood shows here, as in Envoy: each one queues an ACK. Envoy counts
//   frames in its output buffer until written; the connection calls drained() whenever the
//   socket took everything, which starts the counts again.
// - inbound: DATA / HEADERS / CONTINUATION frames with an empty payload and no END_STREAM, back to
//   back (max_consecutive_inbound_frames_with_empty_payload 1); PRIORITY frames past
//   100 × (1 + streams opened) (max_inbound_priority_frames_per_stream); WINDOW_UPDATE frames
//   past 5 + 2 × (streams opened + 10 × DATA frames sent)
//   (max_inbound_window_update_frames_per_data_frame_sent), Envoy's formulas.
// The counters are plain numbers checked on each frame: no allocation, no timer.
import { FRAME_DATA, FRAME_HEADERS, FRAME_CONTINUATION, FRAME_PRIORITY, FRAME_WINDOW_UPDATE, FLAG_END_STREAM } from './frame-scanner.js';

export interface H2FloodLimits {
  /** Frames queued for a peer that does not read (Envoy max_outbound_frames: 10000). */
  maxOutboundFrames: number;
  /** PING/SETTINGS ACKs and RST_STREAM among them (Envoy max_outbound_control_frames: 1000). */
  maxOutboundControlFrames: number;
  /** Consecutive inbound frames with an empty payload and no END_STREAM (Envoy: 1). */
  maxConsecutiveInboundFramesWithEmptyPayload: number;
  /** Inbound PRIORITY frames per stream opened (Envoy max_inbound_priority_frames_per_stream: 100). */
  maxInboundPriorityFramesPerStream: number;
  /** Inbound WINDOW_UPDATE frames per DATA frame sent (Envoy max_inbound_window_update_frames_per_data_frame_sent: 10). */
  maxInboundWindowUpdateFramesPerDataFrameSent: number;
}

/** Envoy's http2_protocol_options defaults. */
export const ENVOY_FLOOD_LIMITS: Readonly<H2FloodLimits> = Object.freeze({
  maxOutboundFrames: 10_000,
  maxOutboundControlFrames: 1_000,
  maxConsecutiveInboundFramesWithEmptyPayload: 1,
  maxInboundPriorityFramesPerStream: 100,
  maxInboundWindowUpdateFramesPerDataFrameSent: 10,
});

/** What tripped: the suffix of Envoy's `http2.<reason>` counter, also the GOAWAY debug data. */
export type FloodReason =
  | 'outbound_flood'
  | 'outbound_control_flood'
  | 'inbound_empty_frames_flood'
  | 'inbound_priority_frames_flood'
  | 'inbound_window_update_frames_flood';

export class H2FloodGuard {
  readonly #limits: Readonly<H2FloodLimits>;
  #outbound = 0;
  #outboundControl = 0;
  #emptyInRow = 0;
  #priority = 0;
  #windowUpdates = 0;
  #streamsOpened = 0;
  #dataSent = 0;

  constructor(limits: Readonly<H2FloodLimits> = ENVOY_FLOOD_LIMITS) {
    this.#limits = limits;
  }

  /** A frame was queued for the socket; the reason when that is one too many. */
  outbound(control: boolean): FloodReason | null {
    const l = this.#limits;
    if (++this.#outbound > l.maxOutboundFrames) return 'outbound_flood';
    if (control && ++this.#outboundControl > l.maxOutboundControlFrames) return 'outbound_control_flood';
    return null;
  }

  /** The socket took everything queued: the peer reads. */
  drained(): void {
    this.#outbound = 0;
    this.#outboundControl = 0;
  }

  /** A DATA frame was sent (WINDOW_UPDATE budget). */
  dataSent(): void {
    this.#dataSent++;
  }

  /** A stream was opened (either side's), which earns PRIORITY and WINDOW_UPDATE budget. */
  streamOpened(): void {
    this.#streamsOpened++;
  }

  /** An inbound frame's header, before it is acted on; the reason when it is a flood. */
  inbound(type: number, flags: number, payloadLength: number): FloodReason | null {
    const l = this.#limits;
    switch (type) {
      case FRAME_DATA:
      case FRAME_HEADERS:
      case FRAME_CONTINUATION:
        if (payloadLength === 0 && (flags & FLAG_END_STREAM) === 0) {
          if (++this.#emptyInRow > l.maxConsecutiveInboundFramesWithEmptyPayload) return 'inbound_empty_frames_flood';
        } else {
          this.#emptyInRow = 0;
        }
        return null;
      case FRAME_PRIORITY:
        if (++this.#priority > l.maxInboundPriorityFramesPerStream * (1 + this.#streamsOpened)) return 'inbound_priority_frames_flood';
        return null;
      case FRAME_WINDOW_UPDATE:
        if (++this.#windowUpdates > 5 + 2 * (this.#streamsOpened + l.maxInboundWindowUpdateFramesPerDataFrameSent * this.#dataSent)) return 'inbound_window_update_frames_flood';
        return null;
      default:
        return null;
    }
  }
}
