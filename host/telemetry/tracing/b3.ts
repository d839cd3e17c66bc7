// B3 propagation (openzipkin/b3-propagation), both encodings: the multi-header form
// (x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled, x-b3-flags) and the single `b3`
// header (`{traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or a lone sampling state `0`, `1`,
// `d`). Parsed strictly as Envoy's Zipkin extractor does: a malformed id makes the whole context
// invalid (Envoy then traces nothing for the request and forwards the headers as received); a
// sampling value that is neither 0/1 nor true/false is ignored (no decision).
import { hexId, lowered, NOTHING, type Extracted, type SpanContext } from './span-context.js';

/** The request's header reader: the first value of a lower-case field, or null. */
export type HeaderReader = (name: string) => string | null;

/** The headers B3 propagation owns (removed before the proxy writes its own). */
export const B3_HEADERS = ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3'] as const;

function sampledValue(v: string): boolean | null {
  // Older Zipkin tracers send true/false (Envoy accepts them too).
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return null;
}

/** hexId's answer for a trace id: 128 bits (32 digits) or 64 (16). */
function traceIdKind(id: string): number {
  return hexId(id, id.length === 16 ? 16 : 32);
}

/**
 * A context result a caller reuses from request to request (the tracer: it copies what it keeps
 * of a context before the next extraction), so that the multi-header form, every traced mesh
 * request's, allocates no result of its own.
 */
export class ReusedContext {
  readonly kind = 'context' as const;
  readonly context = { traceId: '', spanId: '', parentId: null as string | null, sampled: null as boolean | null, debug: false, tracestate: null as string | null };
}

/**
 * The multi-header form. `none` when x-b3-traceid or x-b3-spanid is absent and no sampling header
 * is there. With `reuse`, a context is returned in it (valid until the next call with it).
 */
export function extractB3Multi(get: HeaderReader, reuse?: ReusedContext): Extracted {
  const traceId = get('x-b3-traceid');
  const spanId = get('x-b3-spanid');
  const sampledHeader = get('x-b3-sampled');
  const debug = get('x-b3-flags') === '1';
  const sampled = debug ? true : sampledHeader === null ? null : sampledValue(sampledHeader);
  if (traceId === null || spanId === null) {
    // Only a decision travels (a client asking not to be traced, `x-b3-sampled: 0`).
    if (sampled !== null) return { kind: 'sampling', sampled, debug };
    return NOTHING;
  }
  // Each id checked and its case found in one pass (hexId); lowered only with an upper-case digit.
  const traceKind = traceIdKind(traceId);
  if (traceKind === 0) return { kind: 'invalid', reason: 'x-b3-traceid is not 16 or 32 hex digits' };
  const spanKind = hexId(spanId, 16);
  if (spanKind === 0) return { kind: 'invalid', reason: 'x-b3-spanid is not 16 hex digits' };
  const parent = get('x-b3-parentspanid');
  const parentKind = parent === null ? 1 : hexId(parent, 16);
  if (parentKind === 0) return { kind: 'invalid', reason: 'x-b3-parentspanid is not 16 hex digits' };
  if (reuse !== undefined) {
    const c = reuse.context;
    c.traceId = lowered(traceId, traceKind);
    c.spanId = lowered(spanId, spanKind);
    c.parentId = parent === null ? null : lowered(parent, parentKind);
    c.sampled = sampled;
    c.debug = debug;
    c.tracestate = null;
    return reuse;
  }
  const context: SpanContext = {
    traceId: lowered(traceId, traceKind),
    spanId: lowered(spanId, spanKind),
    parentId: parent === null ? null : lowered(parent, parentKind),
    sampled,
    debug,
    tracestate: null,
  };
  return { kind: 'context', context };
}

/** The single `b3` header's value. */
export function extractB3Single(value: string): Extracted {
  if (value.length === 1) {
    if (value === 'd') return { kind: 'sampling', sampled: true, debug: true };
    const s = sampledValue(value);
    return s === null ? { kind: 'invalid', reason: 'b3 sampling state is not 0, 1 or d' } : { kind: 'sampling', sampled: s, debug: false };
  }
  const parts = value.split('-');
  if (parts.length < 2 || parts.length > 4) return { kind: 'invalid', reason: 'b3 is not {traceid}-{spanid}[-{sampled}[-{parentspanid}]]' };
  const [traceId, spanId, state, parent] = parts as [string, string, string | undefined, string | undefined];
  const traceKind = traceIdKind(traceId);
  if (traceKind === 0) return { kind: 'invalid', reason: 'b3 trace id is not 16 or 32 hex digits' };
  const spanKind = hexId(spanId, 16);
  if (spanKind === 0) return { kind: 'invalid', reason: 'b3 span id is not 16 hex digits' };
  let sampled: boolean | null = null;
  let debug = false;
  if (state !== undefined) {
    if (state === 'd') sampled = debug = true;
    else if (state === '1') sampled = true;
    else if (state === '0') sampled = false;
    else return { kind: 'invalid', reason: 'b3 sampling state is not 0, 1 or d' };
  }
  const parentKind = parent === undefined ? 1 : hexId(parent, 16);
  if (parentKind === 0) return { kind: 'invalid', reason: 'b3 parent span id is not 16 hex digits' };
  return {
    kind: 'context',
    context: { traceId: lowered(traceId, traceKind), spanId: lowered(spanId, spanKind), parentId: parent === undefined ? null : lowered(parent, parentKind), sampled, debug, tracestate: null },
  };
}

/** B3 from a request: the single header first when present (as Envoy), else the multi-header form (`reuse`: see extractB3Multi). */
export function extractB3(get: HeaderReader, reuse?: ReusedContext): Extracted {
  const single = get('b3');
  if (single !== null) return extractB3Single(single);
  return extractB3Multi(get, reuse);
}

/** The multi-header lines (`name: value\r\n`) for a span: what the proxy sends upstream, as Envoy's Zipkin tracer. */
export function b3HeaderLines(traceId: string, spanId: string, parentId: string | null, sampled: boolean): string {
  let s = `x-b3-traceid: ${traceId}\r\nx-b3-spanid: ${spanId}\r\n`;
  if (parentId !== null) s += `x-b3-parentspanid: ${parentId}\r\n`;
  return s + (sampled ? 'x-b3-sampled: 1\r\n' : 'x-b3-sampled: 0\r\n');
}
