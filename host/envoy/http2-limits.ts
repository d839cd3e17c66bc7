// The proxy's HTTP/2 limits (`--limit`, host/common/limits.ts) as Envoy's
// http2_protocol_options, so that stock Envoy run on `wasmesh envoy-config --limit …` applies
// the same flood limits and PING keepalive as a wasmesh proxy given the same flags:
// - the five flood limits (core/h2/h2-flood-guard.ts) on both sides: the HCM's options and every
//   HTTP/2 cluster's (Envoy applies them to its client codec too, as wasmesh's core upstream does);
// - downstreamHttp2InitialStreamWindowSize / …ConnectionWindowSize → the HCM's
//   initial_stream_window_size / initial_connection_window_size (the listeners' windows);
//   upstreamHttp2InitialStreamWindowSize / …ConnectionWindowSize → the same fields of each
//   HTTP/2 cluster (the windows the core upstream pool announces);
// - downstreamHttp2Keepalive* → the HCM's connection_keepalive; upstreamHttp2Keepalive* and
//   upstreamHttp2ConnectionIdleIntervalMs → each HTTP/2 cluster's connection_keepalive
//   (interval, timeout, connection_idle_interval; interval_jitter left at Envoy's 15 %, which
//   is wasmesh's too).
// Only limits the caller set are written (a bootstrap without `--limit` is unchanged). A set limit
// Envoy has no field for here is a warning, never dropped silently.
import type { Limits } from '../common/limits.js';
import { DEFAULT_LIMITS } from '../common/limits.js';
import { envoyDuration } from './duration.js';
import type { Obj } from './istio-resources.js';

type FloodLimit = 'http2MaxOutboundFrames' | 'http2MaxOutboundControlFrames' | 'http2MaxConsecutiveInboundFramesWithEmptyPayload'
  | 'http2MaxInboundPriorityFramesPerStream' | 'http2MaxInboundWindowUpdateFramesPerDataFrameSent';

/** Each flood limit and its Http2ProtocolOptions field. */
export const ENVOY_FLOOD_FIELDS: Readonly<Record<FloodLimit, string>> = Object.freeze({
  http2MaxOutboundFrames: 'max_outbound_frames',
  http2MaxOutboundControlFrames: 'max_outbound_control_frames',
  http2MaxConsecutiveInboundFramesWithEmptyPayload: 'max_consecutive_inbound_frames_with_empty_payload',
  http2MaxInboundPriorityFramesPerStream: 'max_inbound_priority_frames_per_stream',
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: 'max_inbound_window_update_frames_per_data_frame_sent',
});

/** Limits this translation writes (the others, when set, are warned about). */
const WRITTEN = new Set<keyof Limits>([
  ...Object.keys(ENVOY_FLOOD_FIELDS) as FloodLimit[],
  'downstreamHttp2KeepaliveIntervalMs', 'downstreamHttp2KeepaliveTimeoutMs',
  'downstreamHttp2InitialStreamWindowSize', 'downstreamHttp2InitialConnectionWindowSize',
  'upstreamHttp2InitialStreamWindowSize', 'upstreamHttp2InitialConnectionWindowSize',
  'upstreamHttp2KeepaliveIntervalMs', 'upstreamHttp2KeepaliveTimeoutMs', 'upstreamHttp2ConnectionIdleIntervalMs',
]);

/** The Http2ProtocolOptions fields `limits` set, for the HCM (`downstream`) or an HTTP/2 cluster (`upstream`). */
export function envoyHttp2Limits(limits: Readonly<Partial<Limits>> | undefined, side: 'downstream' | 'upstream'): Obj {
  const out: Obj = {};
  if (limits === undefined) return out;
  for (const [limit, field] of Object.entries(ENVOY_FLOOD_FIELDS) as Array<[FloodLimit, string]>) {
    const v = limits[limit];
    if (v !== undefined) out[field] = v;
  }
  const streamWindow = side === 'downstream' ? limits.downstreamHttp2InitialStreamWindowSize : limits.upstreamHttp2InitialStreamWindowSize;
  const connectionWindow = side === 'downstream' ? limits.downstreamHttp2InitialConnectionWindowSize : limits.upstreamHttp2InitialConnectionWindowSize;
  if (streamWindow !== undefined) out.initial_stream_window_size = streamWindow;
  if (connectionWindow !== undefined) out.initial_connection_window_size = connectionWindow;
  const keepalive = side === 'downstream'
    ? { interval: limits.downstreamHttp2KeepaliveIntervalMs, timeout: limits.downstreamHttp2KeepaliveTimeoutMs, idle: undefined }
    : { interval: limits.upstreamHttp2KeepaliveIntervalMs, timeout: limits.upstreamHttp2KeepaliveTimeoutMs, idle: limits.upstreamHttp2ConnectionIdleIntervalMs };
  const interval = keepalive.interval ?? 0;
  const idle = keepalive.idle ?? 0;
  // Keepalive is off (wasmesh and Envoy) unless an interval or an idle interval is set; Envoy's
  // timeout has no default, so wasmesh's (20 s) is written when the limit was not given.
  if (interval > 0 || idle > 0) {
    const timeoutMs = keepalive.timeout ?? (side === 'downstream' ? DEFAULT_LIMITS.downstreamHttp2KeepaliveTimeoutMs : DEFAULT_LIMITS.upstreamHttp2KeepaliveTimeoutMs);
    out.connection_keepalive = {
      ...(interval > 0 ? { interval: envoyDuration(interval) } : {}),
      timeout: envoyDuration(timeoutMs),
      ...(idle > 0 ? { connection_idle_interval: envoyDuration(idle) } : {}),
    };
  }
  return out;
}

/** Warnings for limits set that this translation does not write into the Envoy config. */
export function untranslatedLimitWarnings(limits: Readonly<Partial<Limits>> | undefined): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(limits ?? {}) as Array<[keyof Limits, number | undefined]>) {
    if (value === undefined || WRITTEN.has(name)) continue;
    const why = name === 'http2SettingsTimeoutMs' ? 'Envoy (nghttp2) has no SETTINGS ACK timeout' : 'not translated into the Envoy config yet';
    out.push(`--limit ${name}=${value}: ${why}; Envoy keeps its own behaviour for it`);
  }
  return out;
}
