// A span's place in a trace, as propagation headers carry it between proxies and apps: the
// trace id (128-bit, or 64-bit as older B3 clients send it), the span id, its parent, and the
// sampling decision when one was made upstream. Ids are lower-case hex strings, checked by the
// parsers (b3.ts, traceparent.ts) before a context exists.

export interface SpanContext {
  /** 32 hex digits (128 bits) or 16 (a 64-bit B3 trace id); never all zeros. */
  readonly traceId: string;
  /** 16 hex digits; never all zeros. */
  readonly spanId: string;
  /** The parent span's id (B3 x-b3-parentspanid), or null. */
  readonly parentId: string | null;
  /** The upstream decision: true (sample), false (do not), null (none made: the proxy decides). */
  readonly sampled: boolean | null;
  /** B3 debug (x-b3-flags: 1, or `d` in `b3`): always sampled. */
  readonly debug: boolean;
  /** W3C tracestate as received (vendor entries passed on unchanged), or null. */
  readonly tracestate: string | null;
}

/** What a propagation header said: a context, a sampling decision alone (`b3: 0`), nothing, or something malformed. */
export type Extracted =
  | { readonly kind: 'context'; readonly context: SpanContext }
  | { readonly kind: 'sampling'; readonly sampled: boolean; readonly debug: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly reason: string };

export const NOTHING: Extracted = Object.freeze({ kind: 'none' });

/** Whether a hex id needs lowering (hexId's answer for an id with an upper-case digit). */
const UPPER = 2;

/**
 * `s` as a hex id of `len` digits in one pass: 0 when it is not one (another length, a non-hex
 * character, all zeros), 1 when it is one in lower case already (what every tracer sends: the
 * caller keeps `s`), UPPER when it has an upper-case digit (the caller lowers it). The parsers
 * used to check (isHexId) and then scan again for an upper-case digit (lowerHex): two passes
 * over every received id, on every request that carries a context.
 */
export function hexId(s: string, len: number): number {
  if (s.length !== len) return 0;
  let nonZero = false;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) {
      if (c !== 0x30) nonZero = true;
    } else if (c >= 0x41 && c <= 0x46) upper = nonZero = true;
    else return 0;
  }
  return !nonZero ? 0 : upper ? UPPER : 1;
}

/** `s`, already checked by hexId (`kind` its answer), in lower case: itself unless it had an upper-case digit. */
export function lowered(s: string, kind: number): string {
  return kind === UPPER ? s.toLowerCase() : s;
}

/** `s` is `len` hex digits (either case) and not all zeros. */
export function isHexId(s: string, len: number): boolean {
  return hexId(s, len) !== 0;
}

/** A trace id as W3C traceparent needs it: 32 digits (a 64-bit B3 id is left-padded with zeros, as OpenTelemetry does). */
export function traceId128(traceId: string): string {
  return traceId.length === 32 ? traceId : '0000000000000000' + traceId;
}
