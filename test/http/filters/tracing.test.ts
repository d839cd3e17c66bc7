// The tracing listener filter: a sampled stream's span describes the request (read when the
// stream starts) and its end; an unsampled one still gets its context (it propagates) but the
// filter reads nothing that only a span needs: neither the request's fields nor the end's, so
// the 99 % Istio does not sample cost no more than their ids.
import { describe, expect, it } from 'vitest';
import { tracingFilter } from '../../../host/http/filters/tracing.js';
import type { StreamCallbacks } from '../../../host/http/stream-callbacks.js';
import { Tracer } from '../../../host/telemetry/tracing/tracer.js';
import { SpanIds } from '../../../host/telemetry/tracing/span-ids.js';
import type { FinishedSpan } from '../../../host/telemetry/tracing/span.js';
import { workloadMetadata } from '../../../host/model/workload-metadata.js';
import { PropagationBytes, propagationSlot } from '../../../host/common/propagation-bytes.js';

function tracer(samplingPercentage: number, spans: FinishedSpan[]): Tracer {
  return new Tracer({
    config: { provider: { name: 'p', kind: 'zipkin', service: 'c', port: 1, path: '/', maxTagLength: 256 }, samplingPercentage, customTags: [], disableSpanReporting: false },
    workload: workloadMetadata({ name: 'gw', namespace: 'ns' }),
    ids: new SpanIds(7),
    report: (s) => spans.push(s),
    stats: { inc: () => {} },
    kind: 'SERVER',
  });
}

/** A stream whose reads are counted: `touched` lists every field read beyond the propagation headers. */
function stream(headers: Record<string, string>) {
  const touched: string[] = [];
  const h = { ...headers };
  const ds = {
    get method() { touched.push('method'); return 'GET'; },
    get authority() { touched.push('authority'); return 'bench'; },
    get path() { touched.push('path'); return '/x'; },
    get remoteAddress() { touched.push('remoteAddress'); return '10.0.0.9'; },
    get status() { touched.push('status'); return 200; },
    get bytesReceived() { touched.push('bytesReceived'); return 0; },
    get bytesSent() { touched.push('bytesSent'); return 1024; },
    startTime: Date.now(),
    // The request's fields, flat, as the stream keeps them (the filter reads the context from them in one pass).
    get headers() { return Object.entries(h).flat(); },
  };
  const s = {
    downstream: ds,
    get requestId() { touched.push('requestId'); return 'rid-1'; },
    get flags() { touched.push('flags'); return []; },
    get upstreamCluster() { touched.push('upstreamCluster'); return 'outbound|8000|v1|bench'; },
    requestHeader: (n: string) => {
      if (n === 'user-agent' || n === 'x-forwarded-proto' || n === 'x-envoy-downstream-service-cluster') touched.push(n);
      return h[n] ?? null;
    },
    removeRequestHeader: (n: string) => { delete h[n]; },
    removeRequestHeaders: (names: readonly string[]) => { for (const n of names) delete h[n]; },
    trace: null,
  };
  return { s: s as unknown as StreamCallbacks & { trace: unknown }, touched, headers: h };
}

describe('tracingFilter', () => {
  it('a sampled stream: the span carries the request and its end', () => {
    const spans: FinishedSpan[] = [];
    const f = tracingFilter(tracer(100, spans));
    const { s, headers } = stream({ 'x-b3-sampled': '1', 'user-agent': 'wrk' });
    f.onRequestHeaders!(s);
    expect(s.trace).not.toBeNull();
    // Removed from the request: the router writes the proxy's own context upstream.
    expect(headers['x-b3-sampled']).toBeUndefined();
    f.onLog!(s);
    expect(s.trace).not.toBeNull();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.tags).toMatchObject({ 'http.method': 'GET', 'http.url': 'http://bench/x', 'guid:x-request-id': 'rid-1', user_agent: 'wrk', 'http.status_code': '200', response_size: '1024', upstream_cluster: 'outbound|8000|v1|bench' });
    expect(spans[0]!.remote).toBe('10.0.0.9');
  });

  it('an unsampled stream: a context, no span, and nothing read that only a span needs', () => {
    const spans: FinishedSpan[] = [];
    const f = tracingFilter(tracer(0, spans));
    const { s, touched } = stream({ 'user-agent': 'wrk' });
    f.onRequestHeaders!(s);
    const trace = s.trace as { sampled: boolean; attemptHeaders(): string } | null;
    expect(trace).not.toBeNull();
    expect(trace!.sampled).toBe(false);
    expect(trace!.attemptHeaders()).toMatch(/^x-b3-traceid: [0-9a-f]{32}\r\n/);
    f.onLog!(s);
    expect(spans).toHaveLength(0);
    expect(touched).toEqual([]);
    // Given back to the tracer for the next stream, so the stream lets go of it.
    expect(s.trace).toBeNull();
    const next = stream({});
    f.onRequestHeaders!(next.s);
    expect(next.s.trace).toBe(trace);
  });

  it('removes every propagation field the upstream would otherwise get, including ones the tracer did not need to read', () => {
    const f = tracingFilter(tracer(0, []));
    const all = { 'x-b3-traceid': 'a'.repeat(32), 'x-b3-spanid': 'b'.repeat(16), 'x-b3-parentspanid': 'c'.repeat(16), 'x-b3-sampled': '0', 'x-b3-flags': '0', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`, tracestate: 'k=v', 'user-agent': 'wrk' };
    const cases: Array<Record<string, string>> = [all, { tracestate: 'k=v', 'user-agent': 'wrk' }, { 'x-b3-parentspanid': 'c'.repeat(16), 'user-agent': 'wrk' }, { 'x-b3-spanid': 'b'.repeat(16), 'user-agent': 'wrk' }];
    for (const fields of cases) {
      const { s, headers } = stream(fields);
      f.onRequestHeaders!(s);
      expect(s.trace).not.toBeNull();
      expect(headers).toEqual({ 'user-agent': 'wrk' });
    }
  });

  it('a request with no propagation field: nothing to remove, no pass over its fields to remove it', () => {
    const f = tracingFilter(tracer(0, []));
    const { s } = stream({ 'user-agent': 'wrk' });
    let removals = 0;
    Object.assign(s, { removeRequestHeaders: () => removals++, removeRequestHeader: () => removals++ });
    f.onRequestHeaders!(s);
    expect(s.trace).not.toBeNull();
    expect(removals).toBe(0);
  });

  it('malformed propagation headers: no trace, headers forwarded as received', () => {
    const f = tracingFilter(tracer(100, []));
    const { s, headers } = stream({ b3: 'garbage' });
    f.onRequestHeaders!(s);
    expect(s.trace).toBeNull();
    expect(headers.b3).toBe('garbage');
  });

  it('reads the listener\'s hand-over of the fields as bytes; the filter says so (readsPropagation)', () => {
    const f = tracingFilter(tracer(0, []));
    expect(f.readsPropagation).toBe(true);
    const T = 'a'.repeat(32);
    const { s, headers } = stream({ 'user-agent': 'wrk' });
    const p = handOver({ 'x-b3-traceid': T, 'x-b3-spanid': 'b'.repeat(16), 'x-b3-sampled': '1' });
    let removals = 0;
    Object.assign(s, { removeRequestHeaders: () => removals++, removeRequestHeader: () => removals++ });
    Object.assign(s.downstream, { propagation: p });
    f.onRequestHeaders!(s);
    const trace = s.trace as { sampled: boolean; ids: { traceId: string; parentId: string } };
    expect([trace.sampled, trace.ids.traceId, trace.ids.parentId]).toEqual([true, T, 'b'.repeat(16)]);
    // Not among the request's fields: nothing to remove, nothing added.
    expect(removals).toBe(0);
    expect(headers).toEqual({ 'user-agent': 'wrk' });
  });

  it('a malformed context handed over as bytes goes back into the request as received, repeats too', () => {
    const f = tracingFilter(tracer(100, []));
    const { s } = stream({ 'user-agent': 'wrk' });
    const added: string[] = [];
    Object.assign(s, { addRequestHeader: (n: string, v: string) => added.push(n, v) });
    const p = handOver({ 'x-b3-traceid': 'not-hex', 'x-b3-spanid': 'b'.repeat(16) });
    const again = new Uint8Array(Buffer.from('second'));
    p.put(propagationSlot('x-b3-spanid'), again, 0, again.length);
    Object.assign(s.downstream, { propagation: p });
    f.onRequestHeaders!(s);
    expect(s.trace).toBeNull();
    expect(added).toEqual(['x-b3-traceid', 'not-hex', 'x-b3-spanid', 'b'.repeat(16), 'x-b3-spanid', 'second']);
  });
});

function handOver(h: Record<string, string>): PropagationBytes {
  const p = new PropagationBytes();
  for (const [n, v] of Object.entries(h)) {
    const b = new Uint8Array(Buffer.from(v, 'latin1'));
    p.put(propagationSlot(n), b, 0, b.length);
  }
  return p;
}

