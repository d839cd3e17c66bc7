// Istio's standard metrics in Prometheus' text format 0.0.4, as Istio's sidecars expose them
// beside Envoy's own stats: istio_requests_total (counter) and the istio_request_duration_milliseconds,
// istio_request_bytes and istio_response_bytes histograms (`_bucket{le}` cumulative, `_sum`, `_count`).
import { ISTIO_BUCKETS, cumulative, histogramCount, histogramSum } from '../telemetry/istio-histogram.js';
import type { IstioSnapshot } from '../telemetry/istio-metrics.js';

/** `le` values as Prometheus prints them (Envoy writes `0.5`, `1`, … `3600000`, `+Inf`). */
const LE = [...ISTIO_BUCKETS.map((b) => String(b)), '+Inf'];

type HistogramField = 'duration' | 'requestBytes' | 'responseBytes';
const HISTOGRAMS: ReadonlyArray<readonly [string, HistogramField]> = [
  ['istio_request_bytes', 'requestBytes'],
  ['istio_request_duration_milliseconds', 'duration'],
  ['istio_response_bytes', 'responseBytes'],
];

/** The exposition text of `series` (empty when there are none: no family without samples). */
export function renderIstioPrometheus(snapshot: IstioSnapshot): string {
  const { series, overflow } = snapshot;
  if (series.length === 0 && overflow === 0) return '';
  const sorted = [...series].sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
  const parts: string[] = [];
  if (sorted.length > 0) {
    parts.push('# TYPE istio_requests_total counter\n');
    for (const s of sorted) parts.push(`istio_requests_total{${s.labels}} ${s.requests}\n`);
    const buckets: number[] = [];
    for (const [name, field] of HISTOGRAMS) {
      parts.push(`# TYPE ${name} histogram\n`);
      for (const s of sorted) {
        const h = s[field];
        cumulative(h, buckets);
        for (let i = 0; i < LE.length; i++) parts.push(`${name}_bucket{${s.labels},le="${LE[i]}"} ${buckets[i]}\n`);
        parts.push(`${name}_sum{${s.labels}} ${histogramSum(h)}\n`, `${name}_count{${s.labels}} ${histogramCount(h)}\n`);
      }
    }
  }
  if (overflow > 0) parts.push('# TYPE wasmesh_istio_series_overflow_total counter\n', `wasmesh_istio_series_overflow_total ${overflow}\n`);
  return parts.join('');
}
