// The exporter against a real HTTP collector on loopback: batches by size and by timer, the
// Zipkin v2 and OTLP bodies, and a collector that is down, slow or failing costs counted dropped
// spans, never a blocked report() call.
import { describe, it, expect, afterEach, vi } from 'vitest';
import http from 'node:http';
import { SpanExporter } from '../../../host/telemetry/tracing/span-exporter.js';
import type { FinishedSpan } from '../../../host/telemetry/tracing/span.js';
import type { TracingProvider } from '../../../host/model/tracing.js';
import { closedPort } from '../../helpers/ports.js';

interface Collector { port: number; bodies: Array<{ path: string; body: unknown }>; close(): Promise<void> }

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of servers.splice(0)) await c();
});

async function collector(handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = (_q, res) => res.writeHead(202).end()): Promise<Collector> {
  const bodies: Collector['bodies'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push({ path: req.url ?? '', body: JSON.parse(body) });
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  servers.push(close);
  return { port: (server.address() as { port: number }).port, bodies, close };
}

function counter() {
  const counts: Record<string, number> = {};
  return { counts, inc: (n: string) => { counts[n] = (counts[n] ?? 0) + 1; } };
}

function provider(kind: 'zipkin' | 'opentelemetry', port: number): TracingProvider {
  return { name: kind, kind, service: '127.0.0.1', port, path: kind === 'zipkin' ? '/api/v2/spans' : '/v1/traces', maxTagLength: 256 };
}

function span(i: number, extra: Partial<FinishedSpan> = {}): FinishedSpan {
  return {
    traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: (0x1000 + i).toString(16).padStart(16, '0'), parentId: i === 0 ? null : '0000000000001000',
    name: `span ${i}`, kind: i === 0 ? 'SERVER' : 'CLIENT', startUs: 1_700_000_000_000_000 + i, durationUs: 1500,
    tags: { 'http.status_code': '200', component: 'proxy' }, localService: 'reviews.default', localIp: '10.0.0.7', remote: i === 0 ? '10.0.0.9:43210' : null, ...extra,
  };
}

const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('SpanExporter', () => {
  it('posts Zipkin v2 JSON to /api/v2/spans once min-flush spans are queued', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 3, flushIntervalMs: 60_000 });
    e.report(span(0));
    e.report(span(1));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.bodies).toHaveLength(0);
    e.report(span(2, { tags: { error: 'true' } }));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 1);
    expect(c.bodies[0]!.path).toBe('/api/v2/spans');
    const spans = c.bodies[0]!.body as Array<Record<string, unknown>>;
    expect(spans).toHaveLength(3);
    expect(spans[0]).toEqual({
      traceId: '463ac35c9f6413ad48485a3953bb6124', id: '0000000000001000', name: 'span 0', kind: 'SERVER',
      timestamp: 1_700_000_000_000_000, duration: 1500, localEndpoint: { serviceName: 'reviews.default', ipv4: '10.0.0.7' },
      remoteEndpoint: { ipv4: '10.0.0.9', port: 43210 }, tags: { 'http.status_code': '200', component: 'proxy' },
    });
    expect(spans[1]!['parentId']).toBe('0000000000001000');
    expect(stats.counts['tracing.zipkin.spans_sent']).toBe(3);
    await e.close();
  });

  it('min-flush reports are minReportGapMs apart: spans that come meanwhile go in one later batch', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 1, flushIntervalMs: 60_000, minReportGapMs: 300 });
    const t0 = Date.now();
    e.report(span(0));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 1);
    for (let i = 1; i <= 4; i++) e.report(span(i));
    await new Promise((r) => setTimeout(r, 100));
    // Within the gap: nothing more sent, though each span alone reached min-flush.
    expect(c.bodies).toHaveLength(1);
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect((c.bodies[1]!.body as unknown[]).length).toBe(4);
    expect(stats.counts['tracing.zipkin.spans_sent']).toBe(5);
    await e.close();
  });

  it('by default min-flush reports are 1 s apart: five spans a quarter second later wait for the gap', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { flushIntervalMs: 60_000 });
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) e.report(span(i));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 1);
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 5; i < 15; i++) e.report(span(i));
    await new Promise((r) => setTimeout(r, 300));
    // Ten spans waiting, twice min-flush: still within the gap, one report so far.
    expect(c.bodies).toHaveLength(1);
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 2, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    expect((c.bodies[1]!.body as unknown[]).length).toBe(10);
    await e.close();
  });

  it('a queue half full is reported at once, gap or not (a high sampling rate fills batches instead of dropping spans)', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 1, flushIntervalMs: 60_000, minReportGapMs: 60_000, maxQueuedSpans: 10 });
    e.report(span(0));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 1);
    for (let i = 1; i <= 4; i++) e.report(span(i));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.bodies).toHaveLength(1);
    // The fifth waiting span is half of the queue's 10: sent now, a minute before the gap ends.
    e.report(span(5));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 2, 5000);
    expect((c.bodies[1]!.body as unknown[]).length).toBe(5);
    expect(stats.counts['tracing.zipkin.spans_dropped'] ?? 0).toBe(0);
    await e.close();
  });

  it('without a gap (minReportGapMs 0) every min-flush batch is posted at once', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 1, flushIntervalMs: 60_000, minReportGapMs: 0 });
    e.report(span(0));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 1);
    e.report(span(1));
    await waitFor(() => stats.counts['tracing.zipkin.reports_sent'] === 2, 250);
    await e.close();
  });

  it('many reports, Zipkin and OTLP, each over one keep-alive connection to its collector', async () => {
    for (const kind of ['zipkin', 'opentelemetry'] as const) {
      const c = await collector();
      const stats = counter();
      const e = new SpanExporter(provider(kind, c.port), stats, { minFlushSpans: 2, flushIntervalMs: 60_000, minReportGapMs: 0 });
      for (let i = 0; i < 20; i++) {
        e.report(span(2 * i));
        e.report(span(2 * i + 1));
        await e.flush();
      }
      expect(stats.counts[`tracing.${kind}.reports_sent`]).toBe(20);
      expect(stats.counts[`tracing.${kind}.spans_sent`]).toBe(40);
      expect(c.bodies).toHaveLength(20);
      expect(e.connections).toBe(1);
      await e.close();
    }
  });

  it('the flush timer sends a partial batch (timer_flushed)', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 100, flushIntervalMs: 30 });
    e.report(span(0));
    await waitFor(() => c.bodies.length === 1);
    expect(stats.counts['tracing.zipkin.timer_flushed']).toBe(1);
    await e.close();
  });

  it('posts OTLP/HTTP JSON to the provider path', async () => {
    const c = await collector();
    const stats = counter();
    const e = new SpanExporter(provider('opentelemetry', c.port), stats, { minFlushSpans: 2, flushIntervalMs: 60_000 });
    e.report(span(0));
    e.report(span(1, { tags: { error: 'true' } }));
    await waitFor(() => stats.counts['tracing.opentelemetry.reports_sent'] === 1);
    expect(c.bodies[0]!.path).toBe('/v1/traces');
    const body = c.bodies[0]!.body as { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    expect(body.resourceSpans[0]!.resource).toEqual({ attributes: [{ key: 'service.name', value: { stringValue: 'reviews.default' } }] });
    const [server, client] = body.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(server).toMatchObject({ traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: '0000000000001000', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001500000', status: { code: 0 } });
    expect(server!['parentSpanId']).toBeUndefined();
    expect(client).toMatchObject({ kind: 3, parentSpanId: '0000000000001000', status: { code: 2 } });
    await e.close();
  });

  it('a collector that is down: report() returns at once, the batch is counted failed and its spans dropped', async () => {
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', await closedPort()), stats, { minFlushSpans: 2, flushIntervalMs: 60_000 });
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) e.report(span(i));
    expect(performance.now() - t0).toBeLessThan(20);
    await waitFor(() => (stats.counts['tracing.zipkin.spans_dropped'] ?? 0) === 4);
    expect(stats.counts['tracing.zipkin.reports_failed']).toBe(2);
    expect(stats.counts['tracing.zipkin.spans_sent']).toBeUndefined();
    await e.close();
  });

  it('a collector answering 5xx: reports_dropped', async () => {
    const c = await collector((_q, res) => res.writeHead(503).end());
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 1, flushIntervalMs: 60_000 });
    e.report(span(0));
    await waitFor(() => stats.counts['tracing.zipkin.reports_dropped'] === 1);
    expect(stats.counts['tracing.zipkin.spans_dropped']).toBe(1);
    await e.close();
  });

  it('a slow collector: one report in flight, the queue bounded, overflow dropped and counted, the report times out', async () => {
    const held: http.ServerResponse[] = [];
    const c = await collector((_q, res) => held.push(res));
    const stats = counter();
    const e = new SpanExporter(provider('zipkin', c.port), stats, { minFlushSpans: 1, flushIntervalMs: 60_000, maxQueuedSpans: 10, reportTimeoutMs: 300 });
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) e.report(span(i));
    expect(performance.now() - t0).toBeLessThan(50);
    await waitFor(() => c.bodies.length === 1);
    // The first span left in the first report; 10 wait; the other 39 were dropped.
    expect(e.queued).toBe(10);
    expect(stats.counts['tracing.zipkin.spans_dropped']).toBe(39);
    // The held report times out: its span is dropped too, and the next batch goes.
    await waitFor(() => stats.counts['tracing.zipkin.reports_failed'] === 1);
    await waitFor(() => c.bodies.length === 2);
    expect((c.bodies[1]!.body as unknown[]).length).toBe(10);
    for (const r of held) r.writeHead(202).end();
    await e.close();
  });

  it('the flush timer is unref\'d (keeps no process alive)', async () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const e = new SpanExporter(provider('zipkin', 9), counter(), {});
    const timer = spy.mock.results.at(-1)!.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    await e.close();
  });
});
