// Istio's standard metrics on the hot path and at scrape time: one finished request's record()
// (the common path: cached series, flags `-`; and a request with response flags, whose label
// text is built), beside one call into the core that moves a counter in Wasm memory (the token
// bucket's consume, the cheapest such export), which is what keeping the istio_* counters in
// Wasm memory would cost per request at least, before the series lookup; then a whole scrape of
// 10,000 Prometheus series (snapshot + text), and the memory one label set takes.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { IstioMetrics, SecurityPolicy } from '../host/telemetry/istio-metrics.js';
import { GRPC_NOT, serviceOfHost, type WorkloadLabels } from '../host/telemetry/istio-labels.js';
import { ISTIO_BUCKETS, newHistogram, observe } from '../host/telemetry/istio-histogram.js';
import { renderIstioPrometheus } from '../host/admin/istio-prometheus-text.js';
import { LocalRateLimiter } from '../host/core/ratelimit/local-rate-limiter.js';
import { Core } from '../host/core/wasm.js';
import { sink, type BenchCase, type BenchSuite } from './runner.js';

const self: WorkloadLabels = { workload: 'productpage-v1', namespace: 'default', app: 'productpage', version: 'v1', canonicalService: 'productpage', canonicalRevision: 'v1', cluster: 'Kubernetes' };
const peer = (i: number): WorkloadLabels => ({ workload: `reviews-v${i}`, namespace: 'default', app: 'reviews', version: `v${i}`, canonicalService: 'reviews', canonicalRevision: `v${i}`, cluster: 'Kubernetes' });

/** Prometheus series per label set: the counter, and 3 histograms of (buckets + +Inf + sum + count). */
export const SERIES_PER_LABEL_SET = 1 + 3 * (ISTIO_BUCKETS.length + 3);

/** A registry with `labelSets` label sets (distinct peers × services × codes). */
export function filledRegistry(labelSets: number): IstioMetrics {
  const m = new IstioMetrics('destination', self, () => 'spiffe://cluster.local/ns/default/sa/productpage');
  const codes = [200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504];
  for (let i = 0; i < labelSets; i++) {
    const svc = serviceOfHost(`svc-${Math.floor(i / codes.length)}.default.svc.cluster.local`);
    m.record(peer(i % 7), 'spiffe://cluster.local/ns/default/sa/reviews', svc, codes[i % codes.length]!, GRPC_NOT, '-', SecurityPolicy.MutualTls, i % 300, 100 + i, 2000 + i);
  }
  return m;
}

/** Heap bytes per label set (its 67 Prometheus series), measured with a forced GC around filling. */
export function bytesPerLabelSet(labelSets = 2000): number {
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const m = filledRegistry(labelSets);
  gc();
  const after = process.memoryUsage().heapUsed;
  sink.value += m.size;
  return (after - before) / labelSets;
}

export function istioSuite(): BenchSuite {
  const m = new IstioMetrics('source', self, () => 'spiffe://cluster.local/ns/default/sa/productpage');
  const p = peer(1);
  const svc = serviceOfHost('reviews.default.svc.cluster.local');
  let d = 0;
  const core = new Core();
  let now = 0;
  const limiter = new LocalRateLimiter(core, () => now);
  limiter.begin();
  const bucket = limiter.bucket('bench/istio', { maxTokens: 4_000_000_000, tokensPerFill: 4_000_000_000, fillIntervalMs: 1000 }).ptr;
  limiter.commit();
  const counter = new Float64Array(1);
  const h1 = newHistogram();
  const h2 = newHistogram();
  const h3 = newHistogram();
  const labelSets = Math.ceil(10_000 / SERIES_PER_LABEL_SET);
  const big = filledRegistry(labelSets);
  const perSet = bytesPerLabelSet();
  const hot: BenchCase[] = [
    { name: 'record: cached series (flags -)', fn: () => { d = (d + 7) % 900; m.record(p, 'unknown', svc, 200, GRPC_NOT, '-', SecurityPolicy.Unknown, d, 320, 1800); } },
    { name: 'record: with response flags UF,URX (cached series)', fn: () => { d = (d + 7) % 900; m.record(p, 'unknown', svc, 503, GRPC_NOT, 'UF,URX', SecurityPolicy.Unknown, d, 320, 0); } },
    { name: 'the increments alone: counter + 3 histogram observes (JS typed arrays)', fn: () => { d = (d + 7) % 900; counter[0]!++; observe(h1, d); observe(h2, 320); observe(h3, 1800); } },
    { name: 'one core call moving a Wasm-memory counter (floor of a Wasm registry)', fn: () => { now += 0.001; sink.value += limiter.consume(bucket, now) ? 1 : 0; } },
  ];
  const scrape: BenchCase[] = [
    { name: `scrape: ${labelSets * SERIES_PER_LABEL_SET} series (${labelSets} label sets), snapshot + text`, fn: () => { sink.value += renderIstioPrometheus(big.snapshot()).length; } },
  ];
  return {
    title: 'Istio standard metrics',
    about: 'record(): one finished request counted in istio_requests_total and the three histograms (host/telemetry/istio-metrics.ts);\n' +
      'the core call is the least a counter kept in Wasm memory costs per request (one boundary crossing), before any series lookup.\n' +
      `Memory: ${Math.round(perSet)} bytes of heap per label set (${SERIES_PER_LABEL_SET} Prometheus series), ${(perSet / SERIES_PER_LABEL_SET).toFixed(1)} bytes per series.`,
    groups: [
      { title: 'istio · per request', cases: hot },
      { title: 'istio · scrape (target < 50 ms for 10,000 series)', cases: scrape },
    ],
  };
}
