// A received trace context as a stream keeps it: its ids as the 24-bit chunks the proxy keeps its
// own generated ids in (stream-trace.ts: small integers, hex written straight into the upstream
// heads), read and checked from the field's bytes in one pass (extract-bytes.ts) or from the
// string parsers' context (fromSpanContext: the HTTP/2 listener's fields, tests). A trace id is 6
// chunks of its 32 digits (6 × 5 + 2; a 64-bit B3 id is the low 16 digits, the rest zero, and
// `trace64` set), a span id 3 (6 + 6 + 4). One per tracer, reused request after request: the
// stream copies the numbers it keeps.
import type { SpanContext } from './span-context.js';

export class ReceivedContext {
  /** The trace id's chunks. */
  readonly trace = new Int32Array(6);
  /** A 64-bit trace id (16 digits, written as such in B3, zero-padded in traceparent). */
  trace64 = false;
  /** The received span id's chunks (the parent of the stream's span). */
  readonly span = new Int32Array(3);
  /** The decision it carried: true, false, or null (none). */
  sampled: boolean | null = null;
  /** B3 debug: always sampled. */
  debug = false;
  /** W3C tracestate as received, with a valid traceparent. */
  tracestate: string | null = null;
}

/** Per byte: its hex value, +16 for an upper-case digit, -1 when not a hex digit. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX_VALUE[0x61 + c] = 10 + c;
  HEX_VALUE[0x41 + c] = 26 + c;
}

/** Where a chunk of a 32-digit trace id ends (its last digit's index + 1). */
const TRACE_CHUNK_END = [6, 12, 18, 24, 30, 32];
const SPAN_CHUNK_END = [6, 12, 16];

/**
 * Reads `n` hex digits at `src[from]` as the low digits of a `width`-digit id into `chunks`
 * (chunk k ends at `ends[k]`; the high digits are zero): false when a byte is not a hex digit
 * (nor an upper-case one, with `lowerOnly`) or every digit is zero.
 */
function readId(src: Uint8Array, from: number, n: number, width: number, ends: readonly number[], lowerOnly: boolean, chunks: Int32Array): boolean {
  const pad = width - n;
  let k = 0;
  let chunk = 0;
  let any = 0;
  for (let p = 0; p < width; p++) {
    let d = 0;
    if (p >= pad) {
      d = HEX_VALUE[src[from + p - pad]!]!;
      if (d < 0 || (d >= 16 && lowerOnly)) return false;
      d &= 15;
    }
    chunk = chunk * 16 + d;
    any |= d;
    if (p + 1 === ends[k]) {
      chunks[k++] = chunk;
      chunk = 0;
    }
  }
  return any !== 0;
}

/** A trace id of `n` (16 or 32) digits at `src[from]` into `into` (trace, trace64); false when not one. */
export function readTraceId(src: Uint8Array, from: number, n: number, lowerOnly: boolean, into: ReceivedContext): boolean {
  if (n !== 16 && n !== 32) return false;
  into.trace64 = n === 16;
  return readId(src, from, n, 32, TRACE_CHUNK_END, lowerOnly, into.trace);
}

/** A 16-digit span id at `src[from]` into `chunks` (3); false when not one. */
export function readSpanId(src: Uint8Array, from: number, lowerOnly: boolean, chunks: Int32Array): boolean {
  return readId(src, from, 16, 16, SPAN_CHUNK_END, lowerOnly, chunks);
}

/** Where fromSpanContext spells a context's ids out as bytes. */
const SCRATCH = new Uint8Array(32);
const SPARE = new Int32Array(3);

function spell(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) SCRATCH[i] = s.charCodeAt(i) & 0xff;
  return SCRATCH;
}

/** A context the string parsers checked (b3.ts, traceparent.ts) into `into`; returns it. */
export function fromSpanContext(c: SpanContext, into: ReceivedContext): ReceivedContext {
  readTraceId(spell(c.traceId), 0, c.traceId.length, false, into);
  readSpanId(spell(c.spanId), 0, false, into.span);
  into.sampled = c.sampled;
  into.debug = c.debug;
  into.tracestate = c.tracestate;
  return into;
}

/** Whether the 16 digits at `src[from]` are a span id (a B3 parent span id is checked, not kept). */
export function isSpanIdAt(src: Uint8Array, from: number): boolean {
  return readSpanId(src, from, false, SPARE);
}
