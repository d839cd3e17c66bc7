// Received ids as the chunks a stream keeps: 32 digits as 6 chunks (6 × 5 + 2), a 64-bit trace
// id as the low 16 digits, span ids as 3 (6 + 6 + 4); upper case read as lower, refused where
// only lower case is allowed (traceparent); not hex or all zero refused; the string parsers'
// contexts read the same way.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { fromSpanContext, isSpanIdAt, readSpanId, readTraceId, ReceivedContext } from '../../../host/telemetry/tracing/received-context.js';

const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
/** The chunks spelled back as hex, as the stream writes them. */
const hexOf = (chunks: ArrayLike<number>, widths: number[]) => widths.map((w, k) => chunks[k]!.toString(16).padStart(w, '0')).join('');

describe('received ids', () => {
  it('any 32 or 16 hex digits read into chunks that spell them in lower case (property)', () => {
    const digits = (n: number) => fc.array(fc.constantFrom(...'0123456789abcdefABCDEF'), { minLength: n, maxLength: n }).map((a) => a.join(''));
    fc.assert(fc.property(fc.oneof(digits(32), digits(16)), digits(16), (trace, span) => {
      const r = new ReceivedContext();
      const ok = readTraceId(b(trace), 0, trace.length, false, r);
      expect(ok).toBe(!/^0+$/.test(trace));
      if (!ok) return;
      expect(r.trace64).toBe(trace.length === 16);
      expect(hexOf(r.trace, [6, 6, 6, 6, 6, 2])).toBe(trace.toLowerCase().padStart(32, '0'));
      const s = new Int32Array(3);
      expect(readSpanId(b(span), 0, false, s)).toBe(!/^0+$/.test(span));
      if (!/^0+$/.test(span)) expect(hexOf(s, [6, 6, 4])).toBe(span.toLowerCase());
    }));
  });

  it('refuses other lengths, non-hex bytes, all zeros, and upper case when lower only', () => {
    const r = new ReceivedContext();
    expect(readTraceId(b('a'.repeat(24)), 0, 24, false, r)).toBe(false);
    expect(readTraceId(b(`${'a'.repeat(31)}g`), 0, 32, false, r)).toBe(false);
    expect(readTraceId(b('0'.repeat(32)), 0, 32, false, r)).toBe(false);
    expect(readTraceId(b('A'.repeat(32)), 0, 32, true, r)).toBe(false);
    expect(readTraceId(b('A'.repeat(32)), 0, 32, false, r)).toBe(true);
    expect(isSpanIdAt(b('xx00000000000000010'), 2)).toBe(true);
    expect(isSpanIdAt(b('0000000000000000'), 0)).toBe(false);
    expect(isSpanIdAt(b('000000000000000-'), 0)).toBe(false);
  });

  it('a string parser\'s context reads as its bytes do', () => {
    const r = fromSpanContext({ traceId: 'a2fb4a1d1a96d312', spanId: '00f067aa0ba902b7', parentId: null, sampled: false, debug: true, tracestate: 'k=v' }, new ReceivedContext());
    expect([r.trace64, hexOf(r.trace, [6, 6, 6, 6, 6, 2]), hexOf(r.span, [6, 6, 4]), r.sampled, r.debug, r.tracestate])
      .toEqual([true, '0000000000000000a2fb4a1d1a96d312', '00f067aa0ba902b7', false, true, 'k=v']);
  });
});
