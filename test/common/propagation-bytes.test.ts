// The trace context fields as the HTTP/1 listener hands them over: slots by name, values as
// bytes (a long one as a string), repeats kept for forwarding, reset per head, and restore()
// giving back exactly what came, first values in slot order, then the repeats.
import { describe, it, expect } from 'vitest';
import {
  P_B3, P_COUNT, P_SAMPLED, P_TRACEPARENT, P_TRACESTATE, P_TRACE_ID, PROPAGATION_BYTES, PROPAGATION_NAMES, PropagationBytes, propagationSlot,
} from '../../host/common/propagation-bytes.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
function put(p: PropagationBytes, name: string, value: string): void {
  const b = bytes(`..${value}..`);
  p.put(propagationSlot(name), b, 2, 2 + value.length);
}

describe('propagationSlot', () => {
  it('every propagation name has its own slot; x-client-trace-id and others have none', () => {
    PROPAGATION_NAMES.forEach((n, slot) => expect(propagationSlot(n)).toBe(slot));
    expect(PROPAGATION_NAMES).toHaveLength(P_COUNT);
    for (const n of ['x-client-trace-id', 'x-b3-traceidx', 'b4', 'host', 'tracestatx', '', 'X-B3-TRACEID']) expect(propagationSlot(n)).toBe(-1);
  });
});

describe('PropagationBytes', () => {
  it('keeps each first value as bytes, readable as the same string', () => {
    const p = new PropagationBytes();
    put(p, 'x-b3-traceid', 'abc');
    put(p, 'x-b3-sampled', '1');
    put(p, 'tracestate', 'v=\xe9');
    expect(p.count).toBe(3);
    expect(p.has(P_TRACE_ID) && p.has(P_SAMPLED) && p.has(P_TRACESTATE)).toBe(true);
    expect(p.has(P_B3)).toBe(false);
    expect(p.string(P_TRACE_ID)).toBe('abc');
    expect(p.string(P_TRACESTATE)).toBe('v=\xe9');
    expect(p.string(P_B3)).toBeNull();
    expect(Buffer.from(p.bytes.subarray(p.start[P_SAMPLED]!, p.end[P_SAMPLED]!)).toString('latin1')).toBe('1');
  });

  it('a value past the buffer is kept as a string (no bytes), the next ones still fit when they can', () => {
    const p = new PropagationBytes();
    put(p, 'traceparent', 'x'.repeat(PROPAGATION_BYTES - 4));
    put(p, 'tracestate', 'y'.repeat(10));
    put(p, 'b3', '1');
    expect(p.start[P_TRACESTATE]).toBe(-1);
    expect(p.has(P_TRACESTATE)).toBe(true);
    expect(p.string(P_TRACESTATE)).toBe('y'.repeat(10));
    expect(p.string(P_B3)).toBe('1');
    expect(p.start[P_B3]).toBeGreaterThanOrEqual(0);
  });

  it('restore gives the first values in slot order, then the repeats as received; reset forgets all', () => {
    const p = new PropagationBytes();
    put(p, 'tracestate', 'a=1');
    put(p, 'x-b3-traceid', 'T1');
    put(p, 'tracestate', 'b=2');
    put(p, 'x-b3-traceid', 'T2');
    expect(p.string(P_TRACE_ID)).toBe('T1');
    const out: string[] = [];
    p.restore((n, v) => out.push(n, v));
    expect(out).toEqual(['x-b3-traceid', 'T1', 'tracestate', 'a=1', 'tracestate', 'b=2', 'x-b3-traceid', 'T2']);
    p.reset();
    expect(p.count).toBe(0);
    for (let s = 0; s < P_COUNT; s++) expect(p.has(s)).toBe(false);
    const none: string[] = [];
    p.restore((n, v) => none.push(n, v));
    expect(none).toEqual([]);
    put(p, 'traceparent', 'z');
    expect(p.string(P_TRACEPARENT)).toBe('z');
    expect(p.start[P_TRACEPARENT]).toBe(0);
  });
});
