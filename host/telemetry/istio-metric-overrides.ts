// The Telemetry API's metrics overrides applied to the standard metrics' series when they are
// scraped: per metric and reporter (a series' `reporter` label says which: source is Istio's
// CLIENT, destination its SERVER), a disabled metric has no series, a removed label is dropped
// (series then sharing a label set are summed, as Envoy's stats would have counted them in one),
// an upserted one set to its constant; the TCP families likewise (overriddenTcpSamples). Done on the scrape, with the config version current then,
// so the request path does nothing more than without overrides.
import { ISTIO_HTTP_METRICS, type IstioMetric, type MetricOverride, type MetricsOverrides } from '../model/metrics-overrides.js';
import { escapeLabel } from './istio-labels.js';
import { mergeIstio, type IstioSeriesSnapshot } from './istio-metrics.js';
import type { IstioTcpSeriesSnapshot } from './istio-tcp-metrics.js';

export { ISTIO_HTTP_METRICS };

/** The series `metric` is emitted with under `overrides` (the input itself when nothing applies). */
export function overriddenSeries(series: readonly IstioSeriesSnapshot[], metric: IstioMetric, overrides: MetricsOverrides | undefined): readonly IstioSeriesSnapshot[] {
  if (overrides === undefined) return series;
  const client = overrides.client[metric];
  const server = overrides.server[metric];
  if (client === undefined && server === undefined) return series;
  const relabelled = new Map<string, string | null>();
  const out: IstioSeriesSnapshot[] = [];
  for (const s of series) {
    const o = s.labels.startsWith('reporter="source"') ? client : s.labels.startsWith('reporter="destination"') ? server : undefined;
    if (o === undefined) {
      out.push(s);
      continue;
    }
    if (o.disabled) continue;
    let labels = relabelled.get(s.labels);
    if (labels === undefined) relabelled.set(s.labels, (labels = relabel(s.labels, o)));
    if (labels === null) continue;
    out.push(labels === s.labels ? s : { ...s, labels });
  }
  // Equal label sets after a REMOVE are one series.
  return out.length === series.length && out.every((s, i) => s === series[i]) ? series : mergeIstio([{ series: out, overflow: 0 }]).series;
}

/** One TCP family's samples (`field` of each series) under `overrides`: sorted by labels, equal label sets summed. */
export function overriddenTcpSamples(series: readonly IstioTcpSeriesSnapshot[], field: 'opened' | 'closed' | 'sent' | 'received', metric: IstioMetric,
  overrides: MetricsOverrides | undefined): Array<{ labels: string; value: number }> {
  const client = overrides?.client[metric];
  const server = overrides?.server[metric];
  const by = new Map<string, number>();
  for (const s of series) {
    const o = s.labels.startsWith('reporter="source"') ? client : s.labels.startsWith('reporter="destination"') ? server : undefined;
    if (o?.disabled === true) continue;
    const labels = o === undefined ? s.labels : relabel(s.labels, o);
    if (labels === null) continue;
    by.set(labels, (by.get(labels) ?? 0) + s[field]);
  }
  return [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([labels, value]) => ({ labels, value }));
}

/** A rendered label set with `o`'s tag overrides applied; null if it cannot be read (never produced by istio-labels.ts). */
export function relabel(text: string, o: MetricOverride): string | null {
  if (o.remove.length === 0 && o.upsert.length === 0) return text;
  const pairs = parseLabels(text);
  if (pairs === null) return null;
  const kept = pairs.filter(([k]) => !o.remove.includes(k));
  for (const [k, v] of o.upsert) {
    const at = kept.findIndex(([n]) => n === k);
    if (at >= 0) kept[at] = [k, v];
    else kept.push([k, v]);
  }
  return kept.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
}

/** `k="v",…` (the Prometheus text's escapes \\ \" \n) as pairs; null when malformed. */
export function parseLabels(text: string): Array<[string, string]> | null {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    if (eq < 0) return null;
    const name = text.slice(i, eq);
    let value = '';
    let j = eq + 2;
    for (;;) {
      if (j >= text.length) return null;
      const c = text[j]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = text[j + 1];
        value += n === 'n' ? '\n' : n ?? '';
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    out.push([name, value]);
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') return null;
      i++;
    }
  }
  return out;
}
