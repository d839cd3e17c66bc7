// Envoy's `/stats/prometheus` (and `/stats?format=prometheus`): the stats in Prometheus' text
// exposition format 0.0.4, named as Envoy names them, so that dashboards and scrape configs
// written for Envoy read wasmesh unchanged. Envoy's rules, applied here:
// - the metric is `envoy_` + the tag-extracted name with every character outside
//   [a-zA-Z0-9_] replaced by `_` (`cluster.upstream_rq_total` → `envoy_cluster_upstream_rq_total`);
// - tags become labels (`envoy.cluster_name` → `envoy_cluster_name="…"`), and the response
//   code tags are taken from the name as Envoy's default extractors take them:
//   `…_rq_503` → `…_rq{envoy_response_code="503"}`, `…_rq_5xx` → `…_rq_xx{envoy_response_code_class="5"}`;
// - one `# TYPE` line per metric, counters first, then gauges, each group sorted by name.
import type { StatKind, StatRecord } from '../telemetry/stats.js';

/** The Content-Type Prometheus expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Envoy's default extractors for response codes (source/common/config/well_known_names.cc). */
const RESPONSE_CODE = /_rq_(\d{3})$/;
const RESPONSE_CODE_CLASS = /_rq_(\d)xx$/;

/** A metric or label name: Prometheus allows [a-zA-Z_:][a-zA-Z0-9_:]*; Envoy maps the rest to `_`. */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** A label value: backslash, double quote and newline escaped, as the format requires. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

interface Series {
  metric: string;
  labels: string;
  value: number;
}

/** The metric name and label set of one stat. */
function seriesOf(r: StatRecord): Series {
  let tagName = r.tagName;
  const tags = [...r.tags];
  let m = RESPONSE_CODE.exec(tagName);
  if (m) {
    tags.unshift(['envoy.response_code', m[1]!]);
    tagName = tagName.slice(0, m.index) + '_rq';
  } else if ((m = RESPONSE_CODE_CLASS.exec(tagName))) {
    tags.unshift(['envoy.response_code_class', m[1]!]);
    tagName = tagName.slice(0, m.index) + '_rq_xx';
  }
  const labels = tags.map(([k, v]) => `${sanitizeName(k)}="${escapeLabelValue(v)}"`).join(',');
  return { metric: `envoy_${sanitizeName(tagName)}`, labels, value: r.value };
}

/** The exposition text of `records`. */
export function renderPrometheus(records: readonly StatRecord[]): string {
  const families: Record<StatKind, Map<string, Series[]>> = { counter: new Map(), gauge: new Map() };
  const kindOf = new Map<string, StatKind>();
  for (const r of records) {
    const s = seriesOf(r);
    // A metric is one kind: should a counter and a gauge ever sanitise to one name, the first
    // kind keeps it and the other is left out rather than writing two TYPE lines for it.
    const kind = kindOf.get(s.metric) ?? r.kind;
    if (kind !== r.kind) continue;
    kindOf.set(s.metric, kind);
    let list = families[kind].get(s.metric);
    if (!list) families[kind].set(s.metric, (list = []));
    list.push(s);
  }
  let out = '';
  for (const kind of ['counter', 'gauge'] as const) {
    for (const metric of [...families[kind].keys()].sort()) {
      out += `# TYPE ${metric} ${kind}\n`;
      const series = families[kind].get(metric)!.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
      for (const s of series) out += `${metric}${s.labels === '' ? '' : `{${s.labels}}`} ${s.value}\n`;
    }
  }
  return out;
}
