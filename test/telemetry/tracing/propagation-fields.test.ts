// The trace context fields found in one pass: what the reader answers is what a scan per name
// (the stream's requestHeader) answers, for every context name and any other.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PropagationFields } from '../../../host/telemetry/tracing/propagation-fields.js';
import { PROPAGATION_HEADERS } from '../../../host/telemetry/tracing/tracer.js';

const CONTEXT = [...PROPAGATION_HEADERS, 'x-client-trace-id'];
/** requestHeader's answer: the first value of the name. */
const scan = (f: readonly string[], name: string): string | null => {
  for (let i = 0; i + 1 < f.length; i += 2) if (f[i] === name) return f[i + 1]!;
  return null;
};

describe('PropagationFields', () => {
  it('gives the first value of each context field, and scans for any other name', () => {
    const r = new PropagationFields();
    const f = ['host', 'a', 'x-b3-traceid', 't1', 'x-b3-traceid', 't2', 'tracestate', 'k=v', 'x-client-trace-id', 'c', 'user-agent', 'wrk', 'x-b3-flags', '1'];
    r.read(f);
    expect(r.get('x-b3-traceid')).toBe('t1');
    expect(r.get('tracestate')).toBe('k=v');
    expect(r.get('x-b3-flags')).toBe('1');
    expect(r.get('x-client-trace-id')).toBe('c');
    expect(r.get('b3')).toBeNull();
    expect(r.get('traceparent')).toBeNull();
    expect(r.get('user-agent')).toBe('wrk');
    expect(r.get('x-missing')).toBeNull();
    // Four propagation fields (the repeated trace id counts twice); x-client-trace-id is not one.
    expect(r.present).toBe(4);
  });

  it('forgets the previous request: a request with no context finds none', () => {
    const r = new PropagationFields();
    r.read(['x-b3-sampled', '0', 'b3', '0', 'traceparent', 'x']);
    expect(r.present).toBe(3);
    r.read(['host', 'a']);
    for (const n of CONTEXT) expect(r.get(n), n).toBeNull();
    expect(r.present).toBe(0);
    r.clear();
    expect(r.get('host')).toBeNull();
  });

  it('answers as a scan per name does (property)', () => {
    const name = fc.oneof(fc.constantFrom(...CONTEXT, 'host', 'x-b3', 'x-b3-spanidx', 'b4', 'tracestatf'), fc.string({ maxLength: 18 }));
    fc.assert(fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 4 })), { maxLength: 12 }), (pairs) => {
      const f = pairs.flat();
      const r = new PropagationFields();
      r.read(f);
      for (const n of [...CONTEXT, 'host', 'x-b3']) expect(r.get(n)).toBe(scan(f, n));
      expect(r.present).toBe(pairs.filter(([n]) => PROPAGATION_HEADERS.includes(n)).length);
    }));
  });
});
