// The connection-level protections of an HTTP/2 connection on the core codec, as one setting:
// Envoy's flood limits (h2-flood-guard.ts), PING keepalive (h2-keepalive.ts) and the SETTINGS ACK
// timeout (h2-settings-timeout.ts), and the receive windows it announces. The upstream pool takes
// it per cluster (PoolSettings.http2, from the proxy's limits); the listener's options carry the
// same (its windows from the downstream limits).
import { ENVOY_FLOOD_LIMITS, type H2FloodLimits } from './h2-flood-guard.js';
import { NO_KEEPALIVE, type H2KeepaliveSettings } from './h2-keepalive.js';
import { DEFAULT_SETTINGS_TIMEOUT_MS } from './h2-settings-timeout.js';
import type { Limits } from '../../common/limits.js';

/** Flood limits, keepalive and SETTINGS timeout of one connection (a cluster's, or a listener's). */
export interface H2ConnectionSettings {
  flood: Readonly<H2FloodLimits>;
  keepalive: Readonly<H2KeepaliveSettings>;
  /** Our SETTINGS unacknowledged this long → GOAWAY SETTINGS_TIMEOUT; 0 = off. */
  settingsTimeoutMs: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE announced: what the peer may send per stream before a WINDOW_UPDATE. */
  initialStreamWindowSize: number;
  /** The connection's receive window (raised from 65535 by a WINDOW_UPDATE after the preface). */
  initialConnectionWindowSize: number;
}

/** Envoy's defaults: its flood limits, no keepalive; the SETTINGS ACK timeout is wasmesh's (10 s). */
export const DEFAULT_H2_CONNECTION_SETTINGS: Readonly<H2ConnectionSettings> = Object.freeze({
  flood: ENVOY_FLOOD_LIMITS,
  keepalive: NO_KEEPALIVE,
  settingsTimeoutMs: DEFAULT_SETTINGS_TIMEOUT_MS,
  initialStreamWindowSize: 1024 * 1024,
  initialConnectionWindowSize: 16 * 1024 * 1024,
});


/** The HTTP/2 connection protections the limits set (core codec, both sides; keepalive per side). */
export function http2ConnectionSettings(l: Readonly<Limits>, side: 'upstream' | 'downstream'): H2ConnectionSettings {
  return {
    flood: {
      maxOutboundFrames: l.http2MaxOutboundFrames,
      maxOutboundControlFrames: l.http2MaxOutboundControlFrames,
      maxConsecutiveInboundFramesWithEmptyPayload: l.http2MaxConsecutiveInboundFramesWithEmptyPayload,
      maxInboundPriorityFramesPerStream: l.http2MaxInboundPriorityFramesPerStream,
      maxInboundWindowUpdateFramesPerDataFrameSent: l.http2MaxInboundWindowUpdateFramesPerDataFrameSent,
    },
    keepalive: side === 'upstream' ? {
      intervalMs: l.upstreamHttp2KeepaliveIntervalMs,
      timeoutMs: l.upstreamHttp2KeepaliveTimeoutMs,
      intervalJitterPercent: NO_KEEPALIVE.intervalJitterPercent,
      connectionIdleIntervalMs: l.upstreamHttp2ConnectionIdleIntervalMs,
    } : {
      intervalMs: l.downstreamHttp2KeepaliveIntervalMs,
      timeoutMs: l.downstreamHttp2KeepaliveTimeoutMs,
      intervalJitterPercent: NO_KEEPALIVE.intervalJitterPercent,
      connectionIdleIntervalMs: 0,
    },
    settingsTimeoutMs: l.http2SettingsTimeoutMs,
    initialStreamWindowSize: side === 'upstream' ? l.upstreamHttp2InitialStreamWindowSize : l.downstreamHttp2InitialStreamWindowSize,
    initialConnectionWindowSize: side === 'upstream' ? l.upstreamHttp2InitialConnectionWindowSize : l.downstreamHttp2InitialConnectionWindowSize,
  };
}
