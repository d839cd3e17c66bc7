// The Telemetry API's metrics section (telemetry.istio.io Telemetry `metrics`) resolved for one
// proxy, as istiod merges it: the levels (root namespace, namespace, selector or targetRef, the
// same scopes as tracing) apply in that order, each entry's overrides in their order, so the most
// specific level wins per metric, mode and tag. An override matches one metric or ALL_METRICS
// (absent: all), in CLIENT (source reporter), SERVER (destination reporter) or both; `disabled`
// stops the metric, tagOverrides REMOVE a label or UPSERT it. wasmesh's metrics are the
// built-in `prometheus` provider's; UPSERT takes a CEL string literal only (a constant label),
// any other expression is refused with its location rather than ignored.
// Every Telemetry loaded is checked, whichever proxy this is.
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { TelemetryMetricsSpec, TelemetrySpec } from '../telemetry-schema.js';
import { ISTIO_METRICS, type IstioMetric, type MetricOverride, type MetricsOverrides, type ReporterOverrides } from '../../model/metrics-overrides.js';
import { scopeFor, type TelemetryProxy } from './telemetry-tracing.js';

/** The provider wasmesh's standard metrics are (Istio's default metrics provider). */
const PROMETHEUS = 'prometheus';
/** A Prometheus label name. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One change to one metric of one reporter, in merge order. */
interface Change {
  readonly metric: IstioMetric;
  readonly client: boolean;
  readonly server: boolean;
  readonly disabled?: boolean;
  /** [tag, value]; value null: REMOVE. */
  readonly tags: ReadonlyArray<readonly [string, string | null]>;
}

/** The proxy's overrides; undefined when no Telemetry changes its metrics (the default, Istio's). */
export function telemetryMetrics(resources: readonly SourcedResource[], proxy: TelemetryProxy, rootNamespace: string, issues: ConfigIssue[], warnings: string[]): MetricsOverrides | undefined {
  const levels: Array<{ changes: Change[]; from: SourcedResource } | undefined> = [undefined, undefined, undefined];
  for (const r of resources) {
    if (r.resource.kind !== 'Telemetry') continue;
    const spec = (r.resource.spec ?? {}) as TelemetrySpec;
    if (spec.metrics === undefined) continue;
    const changes = readChanges(r, spec.metrics, issues, warnings);
    if (changes === null) continue;
    if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) continue; // the tracing translation reports it
    const scope = scopeFor(r, spec, proxy, rootNamespace);
    if (scope === null) continue;
    const held = levels[scope];
    if (held !== undefined) {
      warnings.push(warningAt(r.ref, ['spec', 'metrics'], `another Telemetry with metrics (${held.from.ref.name ?? '?'}) already applies at this level; this one is ignored, as istiod keeps the oldest`));
      continue;
    }
    levels[scope] = { changes, from: r };
  }
  const all = levels.flatMap((l) => l?.changes ?? []);
  if (all.length === 0) return undefined;
  return Object.freeze({ client: merge(all.filter((c) => c.client)), server: merge(all.filter((c) => c.server)) });
}

/** Changes applied in order: a later `disabled` or tag wins over an earlier one. */
function merge(changes: readonly Change[]): ReporterOverrides {
  const by = new Map<IstioMetric, { disabled: boolean; tags: Map<string, string | null> }>();
  for (const c of changes) {
    let m = by.get(c.metric);
    if (m === undefined) by.set(c.metric, (m = { disabled: false, tags: new Map() }));
    if (c.disabled !== undefined) m.disabled = c.disabled;
    for (const [tag, value] of c.tags) {
      m.tags.delete(tag); // an UPSERT after a REMOVE appends the label again, at the end
      m.tags.set(tag, value);
    }
  }
  const out: Partial<Record<IstioMetric, MetricOverride>> = {};
  for (const [metric, m] of by) {
    const tags = [...m.tags];
    out[metric] = Object.freeze({
      disabled: m.disabled,
      remove: tags.filter(([, v]) => v === null).map(([t]) => t),
      upsert: tags.filter((e): e is [string, string] => e[1] !== null),
    });
  }
  return Object.freeze(out);
}

/** Every entry checked; null on an error (issues added). */
function readChanges(r: SourcedResource, list: readonly TelemetryMetricsSpec[], issues: ConfigIssue[], warnings: string[]): Change[] | null {
  let ok = true;
  const changes: Change[] = [];
  list.forEach((m, i) => {
    const at = ['spec', 'metrics', i] as const;
    (m.providers ?? []).forEach((p, j) => {
      if (p.name === PROMETHEUS) return;
      issues.push(issueAt(r.ref, 'unsupported_field', [...at, 'providers', j, 'name'], `metrics provider "${p.name}": wasmesh's standard metrics are the built-in "${PROMETHEUS}" provider's (its /stats/prometheus); no other metrics provider is served`));
      ok = false;
    });
    if (m.reportingInterval !== undefined) warnings.push(warningAt(r.ref, [...at, 'reportingInterval'], 'has no effect on the prometheus provider (it is scraped), as in Istio'));
    (m.overrides ?? []).forEach((o, k) => {
      const oat = [...at, 'overrides', k] as const;
      if (o.match?.customMetric !== undefined) {
        issues.push(issueAt(r.ref, 'unsupported_field', [...oat, 'match', 'customMetric'], 'custom metrics are not served (wasmesh emits Istio\'s standard metrics only)'));
        ok = false;
        return;
      }
      const name = o.match?.metric ?? 'ALL_METRICS';
      const metrics: readonly IstioMetric[] = name === 'ALL_METRICS' ? ISTIO_METRICS : ISTIO_METRICS.includes(name as IstioMetric) ? [name as IstioMetric] : [];
      const mode = o.match?.mode ?? 'CLIENT_AND_SERVER';
      const tags: Array<readonly [string, string | null]> = [];
      for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
        const tat = [...oat, 'tagOverrides', tag] as const;
        if (!LABEL_NAME.test(tag)) {
          issues.push(issueAt(r.ref, 'invalid_value', tat, 'a tag is a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)'));
          ok = false;
          continue;
        }
        if (tag === 'reporter') {
          issues.push(issueAt(r.ref, 'unsupported_field', tat, 'the reporter label is not overridden in wasmesh (it tells a sidecar\'s two sides apart)'));
          ok = false;
          continue;
        }
        const op = t.operation ?? 'UPSERT';
        if (op === 'REMOVE') {
          if (t.value !== undefined) warnings.push(warningAt(r.ref, [...tat, 'value'], 'is ignored for REMOVE'));
          tags.push([tag, null]);
          continue;
        }
        if (t.value === undefined) {
          issues.push(issueAt(r.ref, 'missing_field', [...tat, 'value'], 'UPSERT needs a value (a CEL expression)'));
          ok = false;
          continue;
        }
        const literal = celStringLiteral(t.value);
        if (literal === null) {
          issues.push(issueAt(r.ref, 'unsupported_field', [...tat, 'value'], `the expression ${JSON.stringify(t.value)} is not served: wasmesh takes a CEL string literal only (e.g. "'constant'"), not attributes or operators`));
          ok = false;
          continue;
        }
        tags.push([tag, literal]);
      }
      for (const metric of metrics) {
        changes.push({ metric, client: mode !== 'SERVER', server: mode !== 'CLIENT', ...(o.disabled !== undefined ? { disabled: o.disabled } : {}), tags });
      }
    });
  });
  return ok ? changes : null;
}

/**
 * The value of a CEL string literal (`'x'` or `"x"`, with \\ \' \" escapes), or null for any
 * other expression. Raw, triple-quoted and other escapes are refused (null), never guessed.
 */
export function celStringLiteral(expr: string): string | null {
  const e = expr.trim();
  if (e.length < 2) return null;
  const q = e[0];
  if ((q !== "'" && q !== '"') || e[e.length - 1] !== q) return null;
  if (e.startsWith(q.repeat(3))) return null;
  let out = '';
  for (let i = 1; i < e.length - 1; i++) {
    const c = e[i]!;
    if (c === q) return null; // the literal ends before the expression does
    if (c === '\n' || c === '\r') return null;
    if (c === '\\') {
      const n = e[i + 1];
      if (i + 1 >= e.length - 1 || (n !== '\\' && n !== "'" && n !== '"')) return null;
      out += n;
      i++;
      continue;
    }
    out += c;
  }
  return out;
}
