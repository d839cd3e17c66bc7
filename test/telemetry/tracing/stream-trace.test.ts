// The propagation lines a stream trace writes straight into an upstream head (writeHeadLines,
// what the router uses on every traced request) are byte for byte the lines attemptHeaders()
// spells out: for every context shape (new trace, 64-bit and 128-bit B3 ids, a parent, W3C with
// tracestate, sampled or not) and with or without an attempt open.
import { describe, it, expect } from 'vitest';
import { Tracer } from '../../../host/telemetry/tracing/tracer.js';
import { SpanIds } from '../../../host/telemetry/tracing/span-ids.js';
import { workloadMetadata } from '../../../host/model/workload-metadata.js';
import { withHeaderLines, withWrittenLines } from '../../../host/router/upstream-head-edits.js';

function tracer(percent: number, provider: 'zipkin' | 'opentelemetry' = 'zipkin'): Tracer {
  return new Tracer({
    config: { provider: { name: 'p', kind: provider, service: 'c', port: 1, path: '/', maxTagLength: 256 }, samplingPercentage: percent, customTags: [], disableSpanReporting: false },
    workload: workloadMetadata({ name: 'reviews-v1', namespace: 'bookinfo' }),
    ids: new SpanIds(7),
    report: () => {},
    stats: { inc: () => {} },
    kind: 'SERVER',
  });
}

const headers = (h: Record<string, string>) => (n: string): string | null => h[n] ?? null;
const HEAD = Buffer.from('GET /r HTTP/1.1\r\nhost: reviews\r\nx-envoy-attempt-count: 1\r\n\r\n', 'latin1');

const CASES: Array<[string, Record<string, string>, 'zipkin' | 'opentelemetry']> = [
  ['a new trace', {}, 'zipkin'],
  ['a new trace, not sampled upstream', { 'x-b3-sampled': '0' }, 'zipkin'],
  ['a 128-bit B3 context with a parent', { 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-parentspanid': '0020000000000001', 'x-b3-sampled': '1' }, 'zipkin'],
  ['a 64-bit B3 trace id (padded in traceparent)', { 'x-b3-traceid': '48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '0' }, 'zipkin'],
  ['a 128-bit B3 context in upper case, no parent', { 'x-b3-traceid': '463AC35C9F6413AD48485A3953BB6124', 'x-b3-spanid': 'A2FB4A1D1A96D312', 'x-b3-sampled': '0' }, 'zipkin'],
  ['W3C without tracestate', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }, 'opentelemetry'],
  ['W3C with tracestate', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' }, 'opentelemetry'],
];

describe('StreamTrace.writeHeadLines', () => {
  for (const [name, h, provider] of CASES) {
    for (const percent of [0, 100]) {
      it(`${name}, ${percent} % sampling: the same bytes as attemptHeaders(), with and without an attempt open`, () => {
        const trace = tracer(percent, provider).start(headers(h), null, 0)!;
        const check = (): void => {
          const lines = trace.attemptHeaders();
          expect(trace.headLinesLength()).toBe(lines.length);
          const written = withWrittenLines(HEAD, trace);
          expect(Buffer.from(written).toString('latin1')).toBe(Buffer.from(withHeaderLines(HEAD, lines)).toString('latin1'));
        };
        check();
        trace.attemptStart('outbound|9080||reviews', '10.0.0.8:9080');
        check();
        trace.attemptStart('outbound|9080||reviews', '10.0.0.9:9080');
        check();
        trace.attemptEnd(200, '-');
        check();
      });
    }
  }

  it('leaves the head it copies alone and refuses a head that does not end in CRLF', () => {
    const trace = tracer(100).start(headers({}), null, 0)!;
    const before = HEAD.toString('latin1');
    withWrittenLines(HEAD, trace);
    expect(HEAD.toString('latin1')).toBe(before);
    expect(() => withWrittenLines(Buffer.from('GET / HTTP/1.1\r\nhost: a', 'latin1'), trace)).toThrow(/CRLF CRLF/);
  });

  it('a new trace\'s ids, kept as chunks, read as 32 and 16 lower-case hex digits, the same on every read and per seed', () => {
    const a = tracer(0).start(headers({}), null, 0)!;
    const b = tracer(0).start(headers({}), null, 0)!;
    expect(a.ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.ids.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.ids).toBe(a.ids);
    expect(b.ids).toEqual(a.ids);
    const t = tracer(0);
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const x = t.start(headers({}), null, 0)!.ids;
      ids.add(x.traceId).add(x.spanId);
    }
    expect(ids.size).toBe(400);
  });

  it('the first attempt\'s lines written ahead (writeTail, for the core\'s head writer) are the lines of the attempt that then starts', () => {
    for (const [, h, provider] of CASES) {
      for (const percent of [0, 100]) {
        const trace = tracer(percent, provider).start(headers(h), null, 0)!;
        expect(trace.tailLength()).toBeGreaterThan(0);
        const out = new Uint8Array(trace.tailLength() + 8);
        const end = trace.writeTail(out, 4);
        expect(end - 4).toBe(trace.tailLength());
        // Written again before the attempt starts: the same id (drawn once).
        const again = new Uint8Array(out.length);
        trace.writeTail(again, 4);
        expect(again).toEqual(out);
        trace.attemptStart('outbound|9080||reviews', '10.0.0.8:9080');
        expect(Buffer.from(out.subarray(4, end)).toString('latin1')).toBe(trace.attemptHeaders());
        // A retry draws its own id, the same length (the router overwrites the lines in place).
        trace.attemptStart('outbound|9080||reviews', '10.0.0.9:9080');
        expect(trace.attemptHeaders()).not.toBe(Buffer.from(out.subarray(4, end)).toString('latin1'));
        expect(trace.headLinesLength()).toBe(trace.tailLength());
      }
    }
  });

  it('a seed gives the same ids whether the first attempt\'s id is drawn ahead or at attemptStart', () => {
    const a = tracer(100).start(headers({}), null, 0)!;
    const b = tracer(100).start(headers({}), null, 0)!;
    a.writeTail(new Uint8Array(a.tailLength()), 0);
    a.attemptStart('c', 'e');
    b.attemptStart('c', 'e');
    expect(a.attemptHeaders()).toBe(b.attemptHeaders());
  });
});

describe('StreamTrace reuse (Tracer.release)', () => {
  const END = { code: 200, flags: '-', upstreamCluster: 'c', requestBytes: 0, responseBytes: 0 };

  it('a finished unsampled trace is reused by the next start(), reset: new ids, no attempt, not finished', () => {
    const t = tracer(0);
    const first = t.start(headers({}), null, 0)!;
    first.attemptStart('c', 'e');
    const ids = first.ids;
    first.finish(END);
    t.release(first);
    const next = t.start(headers({ 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '0' }), null, 0)!;
    expect(next).toBe(first);
    expect(next.attempts).toBe(0);
    expect(next.ids.traceId).toBe('463ac35c9f6413ad48485a3953bb6124');
    expect(next.ids.parentId).toBe('a2fb4a1d1a96d312');
    expect(next.ids.spanId).not.toBe(ids.spanId);
    expect(next.attemptHeaders()).toMatch(/^x-b3-traceid: 463ac35c9f6413ad48485a3953bb6124\r\nx-b3-spanid: [0-9a-f]{16}\r\nx-b3-parentspanid: a2fb4a1d1a96d312\r\nx-b3-sampled: 0\r\n/);
    // It finishes again like a new one.
    next.finish(END);
    t.release(next);
    expect(t.start(headers({}), null, 0)).toBe(first);
  });

  it('keeps a reported trace, an unfinished one, and one given back twice out of the pool', () => {
    const sampled = tracer(100);
    const s = sampled.start(headers({}), null, 0)!;
    s.finish(END);
    sampled.release(s);
    expect(sampled.start(headers({}), null, 0)).not.toBe(s);

    const t = tracer(0);
    const open = t.start(headers({}), null, 0)!;
    t.release(open);
    expect(t.start(headers({}), null, 0)).not.toBe(open);

    const twice = t.start(headers({}), null, 0)!;
    twice.finish(END);
    t.release(twice);
    t.release(twice);
    const a = t.start(headers({}), null, 0)!;
    const b = t.start(headers({}), null, 0)!;
    expect(a).toBe(twice);
    expect(b).not.toBe(twice);
  });
});
