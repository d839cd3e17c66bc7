// Sends finished spans to one collector in batches, off the request path: a span is queued
// (bounded: when full, the span is dropped and counted, never waited for) and a batch is posted
// when min-flush spans are waiting or the flush timer fires (unref'd: it keeps no process alive).
// One report in flight at a time, with a timeout; a slow, failing or absent collector costs
// dropped spans (counted), never a blocked or failed request. Envoy's Zipkin collector batches
// the same way (min_flush_spans 5, flush_interval 5 s). Unlike Envoy, min-flush reports are at
// least 1 s apart, unless half the queue is used: a report costs the proxy's thread some
// 280–370 µs on the raw keep-alive CollectorClient with cold caches (bench/exporter-cost.ts), a
// fixed cost whatever the batch's size, so at 1 % sampling of 1,000 req/s (20 spans/s: a report
// of five every 250 ms) the reports alone cost ~1.5 µs per request, 3 % of a proxy's CPU; one
// report a second of the same spans costs a quarter of that (docs/tracing.md "Export"). Spans
// reach the collector at most 1 s later (Envoy's flush timer waits 5 s).
import type { TracingProvider } from '../../model/tracing.js';
import type { FinishedSpan } from './span.js';
import { zipkinBody } from './zipkin-json.js';
import { otlpBody } from './otlp-json.js';
import { CollectorClient } from './collector-client.js';

export interface ExporterOptions {
  /** Spans waiting that trigger a report (Envoy's min_flush_spans, 5). */
  minFlushSpans?: number;
  /** Period of the flush timer (Envoy's flush_interval, 5000 ms). */
  flushIntervalMs?: number;
  /** Spans held at most; beyond, new spans are dropped (1000). */
  maxQueuedSpans?: number;
  /** A report's timeout (5000 ms). */
  reportTimeoutMs?: number;
  /**
   * Least time between the starts of two reports triggered by min-flush (1000 ms): under load the
   * spans that come meanwhile go in the next batch rather than in a report of their own (0: none).
   * A queue half full (maxQueuedSpans / 2) is reported without waiting, so that a high sampling
   * rate fills batches rather than dropping spans.
   */
  minReportGapMs?: number;
}

/** The counters an exporter moves (a StatScope of the server's downstream stats). */
export interface ExporterStats {
  inc(name: `tracing.${'zipkin' | 'opentelemetry'}.${'spans_sent' | 'reports_sent' | 'reports_dropped' | 'reports_failed' | 'timer_flushed' | 'spans_dropped'}`): void;
}

export class SpanExporter {
  readonly #provider: TracingProvider;
  readonly #stats: ExporterStats;
  readonly #minFlush: number;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #gapMs: number;
  /** When the last report began (Date.now() once per report, not per span). */
  #lastReportMs = -Infinity;
  /** The one-shot timer that sends the batch once the gap has passed, when armed. */
  #gapTimer: NodeJS.Timeout | null = null;
  readonly #client: CollectorClient;
  #queue: FinishedSpan[] = [];
  #inFlight = false;
  #timer: NodeJS.Timeout | null;
  #closed = false;
  /** Settles when the report in flight ends (tests and close()). */
  #reporting: Promise<void> = Promise.resolve();

  constructor(provider: TracingProvider, stats: ExporterStats, opts: ExporterOptions = {}) {
    this.#provider = provider;
    this.#stats = stats;
    this.#minFlush = opts.minFlushSpans ?? 5;
    this.#max = opts.maxQueuedSpans ?? 1000;
    this.#timeoutMs = opts.reportTimeoutMs ?? 5000;
    this.#gapMs = opts.minReportGapMs ?? 1000;
    this.#client = new CollectorClient(provider.service, provider.port, provider.path, this.#timeoutMs);
    this.#timer = setInterval(() => {
      if (this.#queue.length === 0) return;
      this.#count('timer_flushed');
      this.flush();
    }, opts.flushIntervalMs ?? 5000);
    this.#timer.unref();
  }

  get provider(): TracingProvider {
    return this.#provider;
  }

  /** Spans waiting to be sent. */
  get queued(): number {
    return this.#queue.length;
  }

  #count(what: 'spans_sent' | 'reports_sent' | 'reports_dropped' | 'reports_failed' | 'timer_flushed' | 'spans_dropped', n = 1): void {
    const name = `tracing.${this.#provider.kind}.${what}` as const;
    for (let i = 0; i < n; i++) this.#stats.inc(name);
  }

  /** Queues a span (never blocks; dropped and counted when the queue is full). */
  report(span: FinishedSpan): void {
    if (this.#closed || this.#queue.length >= this.#max) {
      this.#count('spans_dropped');
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#minFlush) this.#flushSoon();
  }

  /** A min-flush report: now, or when the gap since the last report has passed (one timer armed); now when half the queue is used. */
  #flushSoon(): void {
    if (this.#inFlight) return;
    const half = this.#queue.length * 2 >= this.#max;
    if (this.#gapTimer !== null && !half) return;
    const wait = half ? 0 : this.#lastReportMs + this.#gapMs - Date.now();
    if (wait <= 0) {
      if (this.#gapTimer !== null) clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
      void this.flush();
      return;
    }
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = null;
      if (!this.#closed) void this.flush();
    }, wait);
    this.#gapTimer.unref();
  }

  /** Posts what is queued, unless a report is in flight (the next flush takes it). */
  flush(): Promise<void> {
    if (this.#inFlight || this.#queue.length === 0) return this.#reporting;
    const batch = this.#queue;
    this.#queue = [];
    this.#inFlight = true;
    this.#lastReportMs = Date.now();
    this.#reporting = this.#post(batch).finally(() => {
      this.#inFlight = false;
      // Spans that came while the report was in flight.
      if (this.#queue.length >= this.#minFlush && !this.#closed) this.#flushSoon();
    });
    return this.#reporting;
  }

  #post(batch: FinishedSpan[]): Promise<void> {
    const p = this.#provider;
    const body = p.kind === 'zipkin' ? zipkinBody(batch) : otlpBody(batch);
    return this.#client.post(body).then((outcome) => {
      if (outcome !== 'failed' && outcome >= 200 && outcome < 300) {
        this.#count('reports_sent');
        this.#count('spans_sent', batch.length);
      } else {
        this.#count(outcome === 'failed' ? 'reports_failed' : 'reports_dropped');
        this.#count('spans_dropped', batch.length);
      }
    });
  }

  /** Connections opened to the collector (keep-alive: one for many reports). */
  get connections(): number {
    return this.#client.connections;
  }

  /** Sends what is queued (bounded by the report timeout), then stops. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    await this.#reporting;
    await this.flush();
    this.#closed = true;
    this.#client.close();
  }
}

/** A server's exporters, one per collector, shared by its config versions. */
export class SpanExporters {
  readonly #stats: ExporterStats;
  readonly #opts: ExporterOptions;
  readonly #byKey = new Map<string, SpanExporter>();

  constructor(stats: ExporterStats, opts: ExporterOptions = {}) {
    this.#stats = stats;
    this.#opts = opts;
  }

  /** The exporter for `provider` (made on first use). */
  for(provider: TracingProvider): SpanExporter {
    const key = `${provider.kind} ${provider.service}:${provider.port}${provider.path}`;
    let e = this.#byKey.get(key);
    if (e === undefined) this.#byKey.set(key, (e = new SpanExporter(provider, this.#stats, this.#opts)));
    return e;
  }

  async close(): Promise<void> {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    await Promise.all(all.map((e) => e.close()));
  }
}
