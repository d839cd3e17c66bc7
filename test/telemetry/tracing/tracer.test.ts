// The tracer of one config version and the stream trace it starts: which context a request
// continues (the provider's own format first), the proxy's tags, custom tags (literal,
// environment, header), tag values cut to maxTagLength, spans per attempt, and no span when
// sampling says no or span reporting is disabled (the context still propagates).
import { describe, it, expect } from 'vitest';
import { Tracer } from '../../../host/telemetry/tracing/tracer.js';
import { SpanIds } from '../../../host/telemetry/tracing/span-ids.js';
import type { FinishedSpan } from '../../../host/telemetry/tracing/span.js';
import type { TracingConfig } from '../../../host/model/tracing.js';
import { workloadMetadata } from '../../../host/model/workload-metadata.js';
import fc from 'fast-check';
import { PropagationBytes, propagationSlot } from '../../../host/common/propagation-bytes.js';
import type { StreamTrace } from '../../../host/telemetry/tracing/stream-trace.js';

const T = '463ac35c9f6413ad48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';
const REQ = { method: 'GET', authority: 'reviews:9080', path: '/r/1', scheme: 'http', requestId: 'rid', peerAddress: '10.0.0.9', userAgent: 'curl', downstreamCluster: null };

function tracer(patch: Partial<TracingConfig> = {}, kind: 'SERVER' | 'CLIENT' = 'SERVER', provider: 'zipkin' | 'opentelemetry' = 'zipkin') {
  const spans: FinishedSpan[] = [];
  const counts: Record<string, number> = {};
  const t = new Tracer({
    config: { provider: { name: 'p', kind: provider, service: 'c', port: 1, path: '/', maxTagLength: 12 }, samplingPercentage: 100, customTags: [], disableSpanReporting: false, ...patch },
    workload: workloadMetadata({ name: 'reviews-v1', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' }, instanceIp: '10.0.0.7' }),
    ids: new SpanIds(5),
    report: (s) => spans.push(s),
    stats: { inc: (n) => void (counts[n] = (counts[n] ?? 0) + 1) },
    kind,
    env: { REGION: 'eu-west-1' },
  });
  return { t, spans, counts };
}

const headers = (h: Record<string, string>) => (n: string): string | null => h[n] ?? null;
const END = { code: 200, flags: '-', upstreamCluster: 'inbound|9080||', requestBytes: 0, responseBytes: 42 };

describe('Tracer', () => {
  it('a server span with the proxy\'s tags, cut to maxTagLength, and custom tags', () => {
    const { t, spans } = tracer({ customTags: [{ tag: 'lit', kind: 'literal', value: 'x' }, { tag: 'env', kind: 'environment', name: 'REGION', defaultValue: null }, { tag: 'missing', kind: 'environment', name: 'NOPE', defaultValue: 'dflt' }, { tag: 'user', kind: 'header', name: 'x-user', defaultValue: null }] });
    const trace = t.start(headers({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-user': 'jason' }), REQ, 1_000)!;
    trace.finish(END);
    expect(spans).toHaveLength(1);
    const s = spans[0]!;
    expect(s).toMatchObject({ traceId: T, parentId: S, kind: 'SERVER', name: 'reviews:9080', localService: 'reviews.bookinfo', localIp: '10.0.0.7', remote: '10.0.0.9', startUs: 1_000_000 });
    expect(s.tags).toMatchObject({
      component: 'proxy', 'istio.canonical_service': 'reviews', 'istio.canonical_revision': 'v1', 'istio.namespace': 'bookinfo', 'istio.mesh_id': 'cluster.loca',
      node_id: 'sidecar~10.0', 'http.url': 'http://revie', 'http.status_code': '200', 'peer.address': '10.0.0.9',
      lit: 'x', env: 'eu-west-1', missing: 'dflt', user: 'jason', upstream_cluster: 'inbound|9080',
    });
  });

  it('one client span per attempt, each the parent of what the attempt carries upstream', () => {
    const { t, spans } = tracer({}, 'CLIENT');
    const trace = t.start(headers({}), REQ, Date.now())!;
    trace.attemptStart('outbound|9080||reviews', '10.0.0.8:9080');
    const first = trace.attemptHeaders();
    trace.attemptEnd(0, 'UF');
    trace.attemptStart('outbound|9080||reviews', '10.0.0.9:9080');
    const second = trace.attemptHeaders();
    trace.attemptEnd(200, '-');
    trace.finish(END);
    const [a1, a2, stream] = spans;
    expect(stream!.parentId).toBeNull();
    expect([a1!.parentId, a2!.parentId]).toEqual([stream!.spanId, stream!.spanId]);
    expect(first).toContain(`x-b3-spanid: ${a1!.spanId}\r\n`);
    expect(first).toContain(`x-b3-parentspanid: ${stream!.spanId}\r\n`);
    expect(second).toContain(`traceparent: 00-${stream!.traceId}-${a2!.spanId}-01\r\n`);
    expect(a1!.tags).toMatchObject({ 'http.status_code': '0', response_flags: 'UF', error: 'true', upstream_address: '10.0.0.8:9080' });
    expect(a2!.tags['retry.count']).toBe('1');
    expect(a2!.tags.error).toBeUndefined();
  });

  it('sampled out, or span reporting disabled: no span, the context still propagates', () => {
    for (const { t, spans } of [tracer({ samplingPercentage: 0 }), tracer({ disableSpanReporting: true })]) {
      const trace = t.start(headers({}), REQ, Date.now())!;
      trace.attemptStart('c', 'e');
      expect(trace.attemptHeaders()).toMatch(/x-b3-traceid: [0-9a-f]{32}\r\n/);
      trace.attemptEnd(200, '-');
      trace.finish(END);
      expect(spans).toEqual([]);
    }
  });

  it('the provider\'s format first: zipkin reads B3 before traceparent, opentelemetry the reverse; malformed is no trace', () => {
    const both = headers({ 'x-b3-traceid': T, 'x-b3-spanid': S, traceparent: `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01` });
    expect(tracer().t.start(both, REQ, 0)!.ids.traceId).toBe(T);
    expect(tracer({}, 'SERVER', 'opentelemetry').t.start(both, REQ, 0)!.ids.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(tracer().t.start(headers({ b3: 'garbage' }), REQ, 0)).toBeNull();
  });

  it('streams started one after another keep their own continued contexts (the extraction\'s result object is reused)', () => {
    const { t } = tracer({ samplingPercentage: 0 });
    const P1 = '0020000000000001';
    const S2 = 'b2fb4a1d1a96d399';
    const one = t.start(headers({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-parentspanid': P1, 'x-b3-sampled': '1' }), REQ, 0)!;
    const two = t.start(headers({ 'x-b3-traceid': T.slice(16), 'x-b3-spanid': S2, 'x-b3-sampled': '0' }), REQ, 0)!;
    expect(one).not.toBe(two);
    expect([one.ids.traceId, one.ids.parentId, one.sampled]).toEqual([T, S, true]);
    expect([two.ids.traceId, two.ids.parentId, two.sampled]).toEqual([T.slice(16), S2, false]);
    expect(one.attemptHeaders()).toContain(`x-b3-traceid: ${T}\r\n`);
    expect(two.attemptHeaders()).toContain(`x-b3-traceid: ${T.slice(16)}\r\n`);
  });

  it('counts why requests were traced, as Envoy\'s connection manager', () => {
    const { t, counts } = tracer({ samplingPercentage: 0 });
    t.start(headers({}), REQ, 0);
    t.start(headers({ 'x-client-trace-id': '1' }), REQ, 0);
    expect(counts).toEqual({ 'tracing.not_traceable': 1, 'tracing.client_enabled': 1 });
  });
});

/** `h`'s propagation fields as the HTTP/1 listener hands them over, and a reader of the others (and of those, as strings). */
function handOver(h: Record<string, string>): { p: PropagationBytes; get: (n: string) => string | null } {
  const p = new PropagationBytes();
  for (const [n, v] of Object.entries(h)) {
    const slot = propagationSlot(n);
    if (slot < 0) continue;
    const b = new Uint8Array(Buffer.from(v, 'latin1'));
    p.put(slot, b, 0, b.length);
  }
  return { p, get: (n) => (propagationSlot(n) >= 0 ? p.string(propagationSlot(n)) : h[n] ?? null) };
}

/** Everything a trace shows: ids, decision, and the lines its first attempt's head carries. */
function seen(trace: StreamTrace | null): unknown {
  if (trace === null) return null;
  const out = new Uint8Array(trace.tailLength());
  const n = trace.writeTail(out, 0);
  return { ids: trace.ids, sampled: trace.sampled, lines: Buffer.from(out.subarray(0, n)).toString('latin1') };
}

describe('Tracer.startFromBytes (the listener\'s hand-over)', () => {
  const id = (n: number) => fc.array(fc.constantFrom(...'0123456789abcdefABCDEF0'), { minLength: n, maxLength: n }).map((a) => a.join(''));
  const fields = fc.record({
    'x-b3-traceid': fc.oneof(id(32), id(16), fc.constant('zz')), 'x-b3-spanid': id(16), 'x-b3-parentspanid': id(16), 'x-b3-sampled': fc.constantFrom('1', '0', 'x'),
    'x-b3-flags': fc.constant('1'), b3: fc.constantFrom('0', 'd', 'x'), traceparent: fc.tuple(id(32), id(16), fc.constantFrom('00', '01')).map(([t, s, f]) => `00-${t.toLowerCase()}-${s.toLowerCase()}-${f}`),
    tracestate: fc.constantFrom('a=1', ''), 'x-client-trace-id': fc.constant('c1'),
  }, { requiredKeys: [] });

  it('the same trace as start() from the fields as strings: ids, decision, counters and upstream lines (property)', () => {
    fc.assert(fc.property(fields, fc.constantFrom<'zipkin' | 'opentelemetry'>('zipkin', 'opentelemetry'), (h, provider) => {
      const a = tracer({ samplingPercentage: 50 }, 'SERVER', provider);
      const b = tracer({ samplingPercentage: 50 }, 'SERVER', provider);
      const { p, get } = handOver(h);
      const fromStrings = seen(a.t.start(headers(h), REQ, 0));
      expect(seen(b.t.startFromBytes(p, get, REQ, 0))).toEqual(fromStrings);
      expect(b.counts).toEqual(a.counts);
    }), { numRuns: 500 });
  });

  it('x-client-trace-id and a custom tag\'s header through the reader; a propagation field as a tag from its bytes', () => {
    const { t, spans, counts } = tracer({ samplingPercentage: 0, customTags: [{ tag: 'tp', kind: 'header', name: 'traceparent', defaultValue: null }] });
    const asked: string[] = [];
    const { p, get } = handOver({ 'x-client-trace-id': 'c1' });
    const trace = t.startFromBytes(p, (n) => (asked.push(n), get(n)), REQ, 0)!;
    expect(trace.sampled).toBe(true);
    expect(counts).toEqual({ 'tracing.client_enabled': 1 });
    expect(asked).toEqual(['x-client-trace-id', 'traceparent']);
    // A decision came with the request: x-client-trace-id is not asked.
    const tp = `00-${T}-${S}-01`;
    const withContext = handOver({ traceparent: tp, 'x-client-trace-id': 'c1' });
    asked.length = 0;
    const continued = t.startFromBytes(withContext.p, (n) => (asked.push(n), withContext.get(n)), REQ, 0)!;
    continued.finish(END);
    expect(asked).toEqual(['traceparent']);
    expect(spans.at(-1)!.tags['tp']).toBe(tp.slice(0, 12));
    expect(continued.ids).toMatchObject({ traceId: T, parentId: S });
  });

  it('a field too long for the hand-over\'s bytes: read as a string, the same answer', () => {
    const { t } = tracer();
    const long = `01-${T}-${S}-01-${'x'.repeat(600)}`;
    const { p, get } = handOver({ traceparent: long });
    expect(p.start[propagationSlot('traceparent')]).toBe(-1);
    expect(t.startFromBytes(p, get, REQ, 0)!.ids).toMatchObject({ traceId: T, parentId: S, sampled: true });
  });
});

