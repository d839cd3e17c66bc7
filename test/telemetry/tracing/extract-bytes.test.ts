// The trace context read from the propagation fields' bytes against the string parsers
// (differential, property): for any set of B3, b3, traceparent and tracestate fields, near-valid
// and broken alike, both give the same answer (none, a decision, a context, invalid) and the same
// context (ids as the stream keeps them, decision, debug, tracestate), for either provider's
// order. Plus the cases named, and the fall-back for a value too long for the bytes.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PropagationBytes, propagationSlot, PROPAGATION_BYTES } from '../../../host/common/propagation-bytes.js';
import { extractBytes, X_CONTEXT, X_INVALID, X_NONE, X_SAMPLING } from '../../../host/telemetry/tracing/extract-bytes.js';
import { extractB3 } from '../../../host/telemetry/tracing/b3.js';
import { extractTraceparent } from '../../../host/telemetry/tracing/traceparent.js';
import { fromSpanContext, ReceivedContext } from '../../../host/telemetry/tracing/received-context.js';

type Fields = Record<string, string>;

/** The answer in one comparable shape. */
function shape(kind: number, r: ReceivedContext): unknown {
  if (kind === X_SAMPLING) return { kind, sampled: r.sampled, debug: r.debug };
  if (kind !== X_CONTEXT) return { kind };
  return { kind, trace: [...r.trace], trace64: r.trace64, span: [...r.span], sampled: r.sampled, debug: r.debug, tracestate: r.tracestate };
}

/** What Tracer.extract does with strings: the provider's format first, the other as a fallback. */
function viaStrings(f: Fields, zipkinFirst: boolean): unknown {
  const get = (n: string): string | null => f[n] ?? null;
  const first = zipkinFirst ? extractB3(get) : extractTraceparent(get);
  const e = first.kind !== 'none' ? first : zipkinFirst ? extractTraceparent(get) : extractB3(get);
  const r = new ReceivedContext();
  switch (e.kind) {
    case 'none': return shape(X_NONE, r);
    case 'invalid': return shape(X_INVALID, r);
    case 'sampling':
      r.sampled = e.sampled;
      r.debug = e.debug;
      return shape(X_SAMPLING, r);
    default: return shape(X_CONTEXT, fromSpanContext(e.context, r));
  }
}

function handOver(f: Fields): PropagationBytes {
  const p = new PropagationBytes();
  for (const [n, v] of Object.entries(f)) {
    const b = new Uint8Array(Buffer.from(`:${v}`, 'latin1'));
    p.put(propagationSlot(n), b, 1, b.length);
  }
  return p;
}

function viaBytes(f: Fields, zipkinFirst: boolean): unknown {
  const r = new ReceivedContext();
  return shape(extractBytes(handOver(f), zipkinFirst, r), r);
}

const hexChar = fc.constantFrom(...'0123456789abcdef0000ABCDEFgz-');
const lowerHex = fc.constantFrom(...'0123456789abcdef');
const hex = (n: number, ch = hexChar) => fc.array(ch, { minLength: n, maxLength: n }).map((a) => a.join(''));
/** Ids of the right length mostly, sometimes off by one, sometimes all zero. */
const id = (n: number) => fc.oneof(hex(n), hex(n, lowerHex), hex(n - 1), hex(n + 1), fc.constant('0'.repeat(n)));
const traceId = fc.oneof(id(32), id(16));
const sampled = fc.constantFrom('1', '0', 'true', 'false', 'TRUE', '2', '', 'd');
const ws = fc.constantFrom('', ' ', '\t', '\xa0');
const traceparent = fc.oneof(
  fc.tuple(fc.constantFrom('00', '01', 'ff', 'FF', '0g', 'cc'), hex(32, fc.constantFrom(...'0123456789abcdef0A')), hex(16, fc.constantFrom(...'0123456789abcdef0A')),
    fc.constantFrom('00', '01', '03', 'ff', '0G', '1'), fc.constantFrom('', '-x', 'x', '-'), ws, ws)
    .map(([v, t, s, fl, rest, a, b]) => `${a}${v}-${t}-${s}-${fl}${rest}${b}`),
  fc.string({ maxLength: 60 }),
);
const b3Single = fc.oneof(
  fc.constantFrom('0', '1', 'd', '2'),
  fc.tuple(traceId, id(16), fc.constantFrom('', '-1', '-0', '-d', '-x'), fc.constantFrom('', '-a2fb4a1d1a96d312', '-0000000000000000'))
    .map(([t, s, st, p]) => `${t}-${s}${st}${st === '' ? '' : p}`),
);
const fields = fc.record(
  {
    'b3': b3Single, 'x-b3-traceid': traceId, 'x-b3-spanid': id(16), 'x-b3-parentspanid': id(16), 'x-b3-sampled': sampled,
    'x-b3-flags': fc.constantFrom('1', '0', ''), 'traceparent': traceparent, 'tracestate': fc.constantFrom('', ' ', 'congo=t61rcWkgMzE', 'a=1,b=2'),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Fields>;

const T = '463AC35C9F6413AD48485A3953BB6124';
const S = 'a2fb4a1d1a96d312';
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('extractBytes', () => {
  it('the same answer and context as the string parsers, for any fields, either provider (property)', () => {
    fc.assert(fc.property(fields, fc.boolean(), (f, zipkinFirst) => {
      expect(viaBytes(f, zipkinFirst)).toEqual(viaStrings(f, zipkinFirst));
    }), { numRuns: 3000 });
  });

  it('the named cases agree too: B3 multi (upper case, 64-bit), traceparent, b3 single, decisions alone, invalid ids', () => {
    const cases: Fields[] = [
      { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '0' },
      { 'x-b3-traceid': S, 'x-b3-spanid': S, 'x-b3-parentspanid': S, 'x-b3-flags': '1' },
      { 'x-b3-traceid': T, 'x-b3-spanid': '0000000000000000' },
      { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-parentspanid': 'xyz' },
      { 'x-b3-sampled': '0' },
      { 'x-b3-sampled': 'maybe' },
      { traceparent: TP, tracestate: 'congo=t61rcWkgMzE' },
      { traceparent: TP.replace('-01', '-00'), 'x-b3-traceid': T, 'x-b3-spanid': S },
      { traceparent: TP.toUpperCase() },
      { traceparent: TP.replace('00-', 'ff-') },
      { traceparent: `01${TP.slice(2)}-more` },
      { b3: `${T}-${S}-1`, 'x-b3-traceid': 'bad' },
      { b3: 'd' },
      {},
    ];
    for (const f of cases) for (const z of [true, false]) expect(viaBytes(f, z), JSON.stringify(f)).toEqual(viaStrings(f, z));
    expect((viaBytes(cases[0]!, true) as { kind: number }).kind).toBe(X_CONTEXT);
    expect((viaBytes(cases[2]!, true) as { kind: number }).kind).toBe(X_INVALID);
    expect((viaBytes(cases[4]!, true) as { kind: number }).kind).toBe(X_SAMPLING);
    expect((viaBytes({}, true) as { kind: number }).kind).toBe(X_NONE);
  });

  it('an id field too long for the bytes is left to the string parsers (-1)', () => {
    const r = new ReceivedContext();
    expect(extractBytes(handOver({ traceparent: `01-${'a'.repeat(PROPAGATION_BYTES)}` }), true, r)).toBe(-1);
    expect(extractBytes(handOver({ tracestate: 'x'.repeat(PROPAGATION_BYTES + 1) }), true, r)).toBe(X_NONE);
  });
});
