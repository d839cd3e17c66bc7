// The request's trace context read from its propagation fields' bytes (the HTTP/1 listener's
// hand-over, host/common/propagation-bytes.ts), as the string parsers read it (b3.ts,
// traceparent.ts: the same rules, the same answers; a property test compares them): the B3
// multi-header ids and W3C traceparent checked and taken as numbers in one pass each, no string
// made. The rare forms go through the string parsers: a single `b3` header, tracestate (kept as
// a string), and a value too long for the hand-over's buffer.
import { P_B3, P_FLAGS, P_PARENT_SPAN_ID, P_SAMPLED, P_SPAN_ID, P_TRACEPARENT, P_TRACESTATE, P_TRACE_ID, type PropagationBytes } from '../../common/propagation-bytes.js';
import { extractB3Single } from './b3.js';
import { parseTraceparent } from './traceparent.js';
import type { Extracted } from './span-context.js';
import { fromSpanContext, isSpanIdAt, readSpanId, readTraceId, type ReceivedContext } from './received-context.js';

/** What the fields said (extractBytes' answer): nothing, a context (in `into`), a decision alone (`into.sampled`), or something malformed. */
export const X_NONE = 0;
export const X_CONTEXT = 1;
export const X_SAMPLING = 2;
export const X_INVALID = 3;

/** A string parser's answer as extractBytes gives it. */
function fromExtracted(e: Extracted, into: ReceivedContext): number {
  switch (e.kind) {
    case 'none': return X_NONE;
    case 'invalid': return X_INVALID;
    case 'sampling':
      into.sampled = e.sampled;
      into.debug = e.debug;
      return X_SAMPLING;
    default:
      fromSpanContext(e.context, into);
      return X_CONTEXT;
  }
}

/** A field the hand-over kept as a string (too long for its buffer): present, yet no bytes. */
function asString(p: PropagationBytes, slot: number): boolean {
  return p.start[slot]! < 0 && p.has(slot);
}

/** `1`/`true` → 1, `0`/`false` → 0, else -1 (an x-b3-sampled value Envoy ignores). */
function sampledAt(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n === 1) return b[s] === 0x31 ? 1 : b[s] === 0x30 ? 0 : -1;
  if (n === 4 && b[s] === 0x74 && b[s + 1] === 0x72 && b[s + 2] === 0x75 && b[s + 3] === 0x65) return 1;
  if (n === 5 && b[s] === 0x66 && b[s + 1] === 0x61 && b[s + 2] === 0x6c && b[s + 3] === 0x73 && b[s + 4] === 0x65) return 0;
  return -1;
}

/** The B3 multi-header form (b3.ts extractB3Multi on bytes). */
function b3Multi(p: PropagationBytes, into: ReceivedContext): number {
  const b = p.bytes;
  const { start, end } = p;
  const debug = start[P_FLAGS]! >= 0 && end[P_FLAGS]! - start[P_FLAGS]! === 1 && b[start[P_FLAGS]!] === 0x31;
  const sampled = debug ? 1 : start[P_SAMPLED]! < 0 ? -1 : sampledAt(b, start[P_SAMPLED]!, end[P_SAMPLED]!);
  const ts = start[P_TRACE_ID]!;
  const ss = start[P_SPAN_ID]!;
  if (ts < 0 || ss < 0) {
    if (sampled < 0) return X_NONE;
    into.sampled = sampled === 1;
    into.debug = debug;
    return X_SAMPLING;
  }
  if (!readTraceId(b, ts, end[P_TRACE_ID]! - ts, false, into)) return X_INVALID;
  if (end[P_SPAN_ID]! - ss !== 16 || !readSpanId(b, ss, false, into.span)) return X_INVALID;
  const ps = start[P_PARENT_SPAN_ID]!;
  if (ps >= 0 && (end[P_PARENT_SPAN_ID]! - ps !== 16 || !isSpanIdAt(b, ps))) return X_INVALID;
  into.sampled = sampled < 0 ? null : sampled === 1;
  into.debug = debug;
  into.tracestate = null;
  return X_CONTEXT;
}

/** B3: the single header first when present (as Envoy), else the multi-header form. */
function b3(p: PropagationBytes, into: ReceivedContext): number {
  if (p.has(P_B3)) return fromExtracted(extractB3Single(p.string(P_B3)!), into);
  return b3Multi(p, into);
}

/** JavaScript's String#trim whitespace among latin1 bytes (traceparent.ts trims the value). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

/** Lower-case hex digits at `b[s, s + n)`. */
function lowerHexAt(b: Uint8Array, s: number, n: number): boolean {
  for (let i = s; i < s + n; i++) {
    const c = b[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** W3C traceparent (traceparent.ts parseTraceparent on bytes), tracestate kept as a string with a valid one. */
function traceparent(p: PropagationBytes, into: ReceivedContext): number {
  if (!p.has(P_TRACEPARENT)) return X_NONE;
  const b = p.bytes;
  let s = p.start[P_TRACEPARENT]!;
  let e = p.end[P_TRACEPARENT]!;
  while (s < e && isSpace(b[s]!)) s++;
  while (e > s && isSpace(b[e - 1]!)) e--;
  const n = e - s;
  if (n < 55 || b[s + 2] !== 0x2d || b[s + 35] !== 0x2d || b[s + 52] !== 0x2d) return X_INVALID;
  if (!lowerHexAt(b, s, 2) || (b[s] === 0x66 && b[s + 1] === 0x66)) return X_INVALID;
  const v00 = b[s] === 0x30 && b[s + 1] === 0x30;
  if (v00 ? n !== 55 : n > 55 && b[s + 55] !== 0x2d) return X_INVALID;
  if (!readTraceId(b, s + 3, 32, true, into) || !readSpanId(b, s + 36, true, into.span)) return X_INVALID;
  if (!lowerHexAt(b, s + 53, 2)) return X_INVALID;
  const flags = (b[s + 54]! <= 0x39 ? b[s + 54]! - 0x30 : b[s + 54]! - 0x57);
  into.sampled = (flags & 1) === 1;
  into.debug = false;
  const state = p.string(P_TRACESTATE);
  into.tracestate = state === null || state.trim() === '' ? null : state;
  return X_CONTEXT;
}

/**
 * The request's context from its propagation fields: the provider's own format first
 * (`zipkinFirst`: B3, else traceparent), the other as a fallback, as Tracer.extract. A context or
 * a decision is written into `into`.
 */
export function extractBytes(p: PropagationBytes, zipkinFirst: boolean, into: ReceivedContext): number {
  // A value too long for the hand-over's buffer (none of the id fields' valid forms is): the string parsers read it.
  if (asString(p, P_TRACE_ID) || asString(p, P_SPAN_ID) || asString(p, P_PARENT_SPAN_ID) || asString(p, P_SAMPLED) || asString(p, P_FLAGS) || asString(p, P_TRACEPARENT)) {
    return -1;
  }
  const first = zipkinFirst ? b3(p, into) : traceparent(p, into);
  if (first !== X_NONE) return first;
  return zipkinFirst ? traceparent(p, into) : b3(p, into);
}
