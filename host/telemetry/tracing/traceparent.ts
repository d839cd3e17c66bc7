// W3C Trace Context propagation: `traceparent` (`{version}-{trace-id}-{parent-id}-{flags}`) and
// `tracestate`, parsed as the recommendation says (lower-case hex only; version ff, an all-zero
// trace or parent id, or a version-00 header of another length is invalid; a higher version may
// carry more fields after the four). Invalid is reported, not thrown: like Envoy's OpenTelemetry
// tracer, the proxy then traces nothing for the request and forwards the headers as received.
import { hexId, NOTHING, type Extracted } from './span-context.js';
import type { HeaderReader } from './b3.js';

export const W3C_HEADERS = ['traceparent', 'tracestate'] as const;

function lowerHex(s: string, from: number, len: number): boolean {
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** One traceparent value (and the request's tracestate, kept with a valid parent only). */
export function parseTraceparent(value: string, tracestate: string | null): Extracted {
  const v = value.trim();
  if (v.length < 55 || v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return { kind: 'invalid', reason: 'traceparent is not {version}-{trace-id}-{parent-id}-{flags}' };
  if (!lowerHex(v, 0, 2) || v.startsWith('ff')) return { kind: 'invalid', reason: 'traceparent version is not 2 lower-case hex digits other than ff' };
  if (v.startsWith('00') ? v.length !== 55 : v.length > 55 && v[55] !== '-') return { kind: 'invalid', reason: 'traceparent has trailing data' };
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  // hexId: 1 is lower-case hex, not all zeros (one pass).
  if (hexId(traceId, 32) !== 1) return { kind: 'invalid', reason: 'traceparent trace-id is not 32 lower-case hex digits, not all zero' };
  if (hexId(parentId, 16) !== 1) return { kind: 'invalid', reason: 'traceparent parent-id is not 16 lower-case hex digits, not all zero' };
  if (!lowerHex(v, 53, 2)) return { kind: 'invalid', reason: 'traceparent flags are not 2 lower-case hex digits' };
  const flags = parseInt(v.slice(53, 55), 16);
  return {
    kind: 'context',
    context: { traceId, spanId: parentId, parentId: null, sampled: (flags & 1) === 1, debug: false, tracestate: tracestate === null || tracestate.trim() === '' ? null : tracestate },
  };
}

/** W3C context from a request: `none` without traceparent. */
export function extractTraceparent(get: HeaderReader): Extracted {
  const tp = get('traceparent');
  if (tp === null) return NOTHING;
  return parseTraceparent(tp, get('tracestate'));
}

/** The traceparent (and tracestate) lines for a span. */
export function traceparentLines(traceId128: string, spanId: string, sampled: boolean, tracestate: string | null): string {
  const s = `traceparent: 00-${traceId128}-${spanId}-${sampled ? '01' : '00'}\r\n`;
  return tracestate === null ? s : `${s}tracestate: ${tracestate}\r\n`;
}
