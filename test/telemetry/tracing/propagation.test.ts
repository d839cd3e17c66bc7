// B3 (multi and single) and W3C traceparent parsing: known cases from the specs and Envoy's
// extractor, and property tests: generated valid contexts round-trip, and no input ever throws
// (arbitrary strings are either a context, a decision, nothing, or invalid).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { extractB3, extractB3Multi, extractB3Single, b3HeaderLines, ReusedContext } from '../../../host/telemetry/tracing/b3.js';
import { parseTraceparent, extractTraceparent, traceparentLines } from '../../../host/telemetry/tracing/traceparent.js';
import { hexId, isHexId, lowered, type Extracted } from '../../../host/telemetry/tracing/span-context.js';

const T32 = '463ac35c9f6413ad48485a3953bb6124';
const T16 = '48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';
const P = '0020000000000001';

function reader(h: Record<string, string>): (n: string) => string | null {
  return (n) => h[n] ?? null;
}

/** Parses `lines` (`name: value\r\n`…) back into a reader. */
function linesReader(lines: string): (n: string) => string | null {
  const h: Record<string, string> = {};
  for (const l of lines.split('\r\n').filter(Boolean)) {
    const i = l.indexOf(': ');
    h[l.slice(0, i)] = l.slice(i + 2);
  }
  return reader(h);
}

function ctx(e: Extracted) {
  if (e.kind !== 'context') throw new Error(`expected a context, got ${JSON.stringify(e)}`);
  return e.context;
}

describe('B3 multi-header', () => {
  it('with a reused result: the same context as without, in the caller\'s object, overwritten by the next call', () => {
    const reuse = new ReusedContext();
    const h = { 'x-b3-traceid': T32.toUpperCase(), 'x-b3-spanid': S, 'x-b3-parentspanid': P, 'x-b3-sampled': '1' };
    const first = extractB3Multi(reader(h), reuse);
    expect(first).toBe(reuse);
    expect(ctx(first)).toEqual(ctx(extractB3Multi(reader(h))));
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T16, 'x-b3-spanid': S }), reuse))).toEqual({ traceId: T16, spanId: S, parentId: null, sampled: null, debug: false, tracestate: null });
    // What is not a context is never the reused object.
    expect(extractB3Multi(reader({ 'x-b3-sampled': '0' }), reuse)).toEqual({ kind: 'sampling', sampled: false, debug: false });
    expect(extractB3(reader({ b3: `${T32}-${S}-1` }), reuse)).not.toBe(reuse);
  });

  it('reads trace id (128 and 64 bit), span, parent, sampled and debug', () => {
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-parentspanid': P, 'x-b3-sampled': '1' })))).toEqual({ traceId: T32, spanId: S, parentId: P, sampled: true, debug: false, tracestate: null });
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T16, 'x-b3-spanid': S })))).toMatchObject({ traceId: T16, sampled: null });
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-sampled': '0' }))).sampled).toBe(false);
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-sampled': 'true' }))).sampled).toBe(true);
    // x-b3-flags: 1 is debug, which implies sampled whatever x-b3-sampled says.
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-sampled': '0', 'x-b3-flags': '1' })))).toMatchObject({ sampled: true, debug: true });
    // Upper-case hex is accepted and normalized.
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32.toUpperCase(), 'x-b3-spanid': S.toUpperCase() }))).traceId).toBe(T32);
  });

  it('a lone sampling decision travels without ids; nothing is nothing', () => {
    expect(extractB3Multi(reader({ 'x-b3-sampled': '0' }))).toEqual({ kind: 'sampling', sampled: false, debug: false });
    expect(extractB3Multi(reader({}))).toEqual({ kind: 'none' });
    // A trace id without a span id is no context (Envoy needs both).
    expect(extractB3Multi(reader({ 'x-b3-traceid': T32 })).kind).toBe('none');
  });

  it('malformed ids are invalid (Envoy: no span); a malformed sampled value is no decision', () => {
    for (const bad of <Array<Record<string, string>>>[
      { 'x-b3-traceid': T32.slice(1), 'x-b3-spanid': S },
      { 'x-b3-traceid': 'g' + T32.slice(1), 'x-b3-spanid': S },
      { 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': S },
      { 'x-b3-traceid': T32, 'x-b3-spanid': '0'.repeat(16) },
      { 'x-b3-traceid': T32, 'x-b3-spanid': S + '0' },
      { 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-parentspanid': 'xyz' },
    ]) expect(extractB3Multi(reader(bad)).kind, JSON.stringify(bad)).toBe('invalid');
    expect(ctx(extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S, 'x-b3-sampled': 'yes' }))).sampled).toBeNull();
  });
});

describe('B3 single header', () => {
  it('reads every form of the spec', () => {
    expect(ctx(extractB3Single(`${T32}-${S}`))).toMatchObject({ traceId: T32, spanId: S, sampled: null, parentId: null });
    expect(ctx(extractB3Single(`${T32}-${S}-1`))).toMatchObject({ sampled: true });
    expect(ctx(extractB3Single(`${T16}-${S}-0-${P}`))).toMatchObject({ traceId: T16, sampled: false, parentId: P });
    expect(ctx(extractB3Single(`${T32}-${S}-d`))).toMatchObject({ sampled: true, debug: true });
    expect(extractB3Single('0')).toEqual({ kind: 'sampling', sampled: false, debug: false });
    expect(extractB3Single('1')).toEqual({ kind: 'sampling', sampled: true, debug: false });
    expect(extractB3Single('d')).toEqual({ kind: 'sampling', sampled: true, debug: true });
  });

  it('refuses malformed values', () => {
    for (const bad of ['', 'x', `${T32}`, `${T32}-${S}-2`, `${T32}-${S}-1-${P}-extra`, `${T32}--1`, `${T32}-${S}-1-0000000000000000`, `${T32.slice(2)}-${S}`]) {
      expect(extractB3Single(bad).kind, bad).toBe('invalid');
    }
  });

  it('the single header wins over the multi-header form (as Envoy reads it)', () => {
    expect(ctx(extractB3(reader({ b3: `${T16}-${S}-1`, 'x-b3-traceid': T32, 'x-b3-spanid': P }))).traceId).toBe(T16);
  });
});

describe('W3C traceparent', () => {
  it('reads version 00 with the sampled flag and keeps tracestate', () => {
    expect(ctx(parseTraceparent(`00-${T32}-${S}-01`, 'congo=t61rcWkgMzE'))).toEqual({ traceId: T32, spanId: S, parentId: null, sampled: true, debug: false, tracestate: 'congo=t61rcWkgMzE' });
    expect(ctx(parseTraceparent(`00-${T32}-${S}-00`, null)).sampled).toBe(false);
    // Other flag bits do not make it sampled.
    expect(ctx(parseTraceparent(`00-${T32}-${S}-02`, null)).sampled).toBe(false);
    // A later version may append fields.
    expect(ctx(parseTraceparent(`01-${T32}-${S}-01-what-comes-next`, null)).sampled).toBe(true);
    expect(extractTraceparent(reader({})).kind).toBe('none');
  });

  it('refuses what the recommendation calls invalid', () => {
    for (const bad of [
      `ff-${T32}-${S}-01`, `00-${T32}-${S}-01-extra`, `00-${'0'.repeat(32)}-${S}-01`, `00-${T32}-${'0'.repeat(16)}-01`,
      `00-${T32.toUpperCase()}-${S}-01`, `00-${T32}-${S}-1`, `0-${T32}-${S}-01`, `00_${T32}-${S}-01`, `00-${T32}-${S}-zz`, '',
    ]) expect(parseTraceparent(bad, null).kind, bad).toBe('invalid');
  });
});

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => /[1-9a-f]/.test(s));

describe('property: generated contexts round-trip through the proxy\'s own header lines', () => {
  it('B3 multi-header', () => {
    fc.assert(fc.property(fc.oneof(hex(32), hex(16)), hex(16), fc.option(hex(16), { nil: null }), fc.boolean(), (t, s, p, sampled) => {
      const c = ctx(extractB3(linesReader(b3HeaderLines(t, s, p, sampled))));
      expect(c).toEqual({ traceId: t, spanId: s, parentId: p, sampled, debug: false, tracestate: null });
    }));
  });

  it('traceparent', () => {
    fc.assert(fc.property(hex(32), hex(16), fc.boolean(), fc.option(fc.stringMatching(/^[a-z]{1,8}=[a-z0-9]{1,8}$/), { nil: null }), (t, s, sampled, state) => {
      const c = ctx(extractTraceparent(linesReader(traceparentLines(t, s, sampled, state))));
      expect(c).toEqual({ traceId: t, spanId: s, parentId: null, sampled, debug: false, tracestate: state });
    }));
  });

  it('B3 single header', () => {
    fc.assert(fc.property(fc.oneof(hex(32), hex(16)), hex(16), fc.constantFrom('', '-0', '-1', '-d'), fc.option(hex(16), { nil: null }), (t, s, state, p) => {
      const value = `${t}-${s}${state}${state !== '' && p !== null ? '-' + p : ''}`;
      const c = ctx(extractB3Single(value));
      expect(c.traceId).toBe(t);
      expect(c.spanId).toBe(s);
      expect(c.sampled).toBe(state === '' ? null : state !== '-0');
    }));
  });
});

describe('property: no input throws; whatever parses is well formed', () => {
  const wellFormed = (e: Extracted): void => {
    expect(['context', 'sampling', 'none', 'invalid']).toContain(e.kind);
    if (e.kind === 'context') {
      expect(e.context.traceId).toMatch(/^([0-9a-f]{16}|[0-9a-f]{32})$/);
      expect(e.context.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(e.context.traceId).not.toMatch(/^0+$/);
    }
  };
  const noisy = fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F-]{0,70}$/), fc.constant(''));

  it('B3 single and multi', () => {
    fc.assert(fc.property(noisy, (v) => wellFormed(extractB3Single(v))), { numRuns: 500 });
    fc.assert(fc.property(fc.option(noisy, { nil: undefined }), fc.option(noisy, { nil: undefined }), fc.option(noisy, { nil: undefined }), fc.option(noisy, { nil: undefined }), (t, s, p, sampled) => {
      const h: Record<string, string> = {};
      if (t !== undefined) h['x-b3-traceid'] = t;
      if (s !== undefined) h['x-b3-spanid'] = s;
      if (p !== undefined) h['x-b3-parentspanid'] = p;
      if (sampled !== undefined) h['x-b3-sampled'] = sampled;
      wellFormed(extractB3Multi(reader(h)));
    }), { numRuns: 500 });
  });

  it('traceparent', () => {
    fc.assert(fc.property(noisy, (v) => wellFormed(parseTraceparent(v, null))), { numRuns: 500 });
    // Single-character mutations of a valid header never throw, and are either valid or invalid.
    fc.assert(fc.property(fc.nat(54), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => {
      const v = `00-${T32}-${S}-01`;
      wellFormed(parseTraceparent(v.slice(0, at) + ch + v.slice(at + 1), null));
    }), { numRuns: 500 });
  });
});

describe('B3 ids in upper case', () => {
  it('are lower-cased (multi and single), lower-case ids come back as sent', () => {
    const up = extractB3Multi(reader({ 'x-b3-traceid': T32.toUpperCase(), 'x-b3-spanid': S.toUpperCase(), 'x-b3-parentspanid': P.replace('2', 'A') }));
    expect(up).toMatchObject({ kind: 'context', context: { traceId: T32, spanId: S, parentId: P.replace('2', 'a') } });
    const single = extractB3Single(`${T16.toUpperCase()}-${S}-1`);
    expect(single).toMatchObject({ kind: 'context', context: { traceId: T16, spanId: S, sampled: true } });
    const lower = extractB3Multi(reader({ 'x-b3-traceid': T32, 'x-b3-spanid': S }));
    expect(lower).toMatchObject({ kind: 'context', context: { traceId: T32, spanId: S, parentId: null } });
  });
});

describe('hexId: an id checked and its case found in one pass', () => {
  it('answers 0 (not an id), 1 (lower case: kept as sent) or 2 (an upper-case digit: lowered)', () => {
    expect(hexId(T32, 32)).toBe(1);
    expect(lowered(T32, hexId(T32, 32))).toBe(T32);
    expect(hexId(S.toUpperCase(), 16)).toBe(2);
    expect(lowered(S.toUpperCase(), 2)).toBe(S);
    expect(hexId('0'.repeat(15) + 'A', 16)).toBe(2);
    for (const [bad, len] of [['0'.repeat(16), 16], [S, 32], [S.slice(1) + 'g', 16], [S.slice(1) + 'G', 16], ['', 0], [S.slice(1) + ' ', 16]] as const) {
      expect(hexId(bad, len), bad).toBe(0);
      expect(isHexId(bad, len)).toBe(false);
    }
  });

  it('agrees with a regular expression on any string (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 18 }), fc.stringMatching(/^[0-9a-fA-F]{16}$/), fc.constant('0'.repeat(16))), (s) => {
      const valid = /^[0-9a-fA-F]{16}$/.test(s) && /[1-9a-fA-F]/.test(s);
      expect(hexId(s, 16)).toBe(!valid ? 0 : /[A-F]/.test(s) ? 2 : 1);
    }));
  });
});
