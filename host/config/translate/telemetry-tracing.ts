// The Telemetry API's tracing section (telemetry.istio.io Telemetry, v1 and v1alpha1) resolved
// for one proxy, as istiod does: a Telemetry in the root namespace without selector applies
// mesh-wide, one in a namespace without selector to that namespace's workloads, one with a
// selector to the matching workloads of its namespace (targetRef(s): to the named Gateway). The
// most specific level that sets a field wins (providers, randomSamplingPercentage,
// disableSpanReporting); customTags merge by tag name, the more specific level's value winning.
// The provider is a meshConfig extension provider (zipkin or opentelemetry); without one from
// Telemetry, meshConfig defaultProviders.tracing; without any, no tracing. Sampling without a
// Telemetry value: meshConfig defaultConfig.tracing.sampling, else Istio's 1 %.
// Every Telemetry loaded is checked (provider names, custom tags), whichever proxy this is.
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { TelemetrySpec, TelemetryTracingSpec } from '../telemetry-schema.js';
import type { MeshSettings } from '../../model/mesh-settings.js';
import { DEFAULT_SAMPLING_PERCENTAGE, type CustomTag, type TracingConfig, type TracingProvider } from '../../model/tracing.js';

export interface TelemetryProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `ns/name` of the Gateway a gateway proxy serves. */
  readonly gateway?: string;
}

/** One level's tracing settings (each field absent when the level does not set it). */
interface Level {
  provider?: TracingProvider;
  sampling?: number;
  disable?: boolean;
  tags: Map<string, CustomTag>;
}

/** A Telemetry's level for one proxy (exported for the access-logging translation). */
export const enum Scope { Mesh, Namespace, Workload }

/**
 * The proxy's tracing as Istio's workload modes split it: `client` for the traffic the workload
 * sends (a sidecar's outbound listener; a gateway, which Istio counts as CLIENT), `server` for
 * what it receives (a sidecar's inbound listener); each undefined when no provider applies.
 */
export interface ProxyTracing {
  readonly client: TracingConfig | undefined;
  readonly server: TracingConfig | undefined;
}

export function telemetryTracing(resources: readonly SourcedResource[], proxy: TelemetryProxy, settings: MeshSettings, issues: ConfigIssue[], warnings: string[]): ProxyTracing {
  const providers = new Map((settings.tracingProviders ?? []).map((p) => [p.name, p]));
  const levels: Array<{ modes: Modes; from: SourcedResource } | undefined> = [undefined, undefined, undefined];
  for (const r of resources) {
    if (r.resource.kind !== 'Telemetry') continue;
    const spec = (r.resource.spec ?? {}) as TelemetrySpec;
    const modes = readModes(r, spec, providers, settings, issues, warnings);
    if (modes === null) continue;
    const scope = scopeFor(r, spec, proxy, settings.rootNamespace);
    if (scope === null) continue;
    const held = levels[scope];
    if (held !== undefined) {
      // istiod keeps the oldest; in files, the first loaded.
      warnings.push(warningAt(r.ref, [], `another Telemetry (${held.from.ref.name ?? '?'}) already applies at this level; this one is ignored, as istiod keeps the oldest`));
      continue;
    }
    levels[scope] = { modes, from: r };
  }
  return {
    client: merged(levels.map((l) => l?.modes.client ?? undefined), providers, settings),
    server: merged(levels.map((l) => l?.modes.server ?? undefined), providers, settings),
  };
}

/** One mode's levels (mesh, namespace, workload) merged, the most specific winning. */
function merged(levels: ReadonlyArray<Level | undefined>, providers: ReadonlyMap<string, TracingProvider>, settings: MeshSettings): TracingConfig | undefined {
  let provider: TracingProvider | undefined;
  let sampling: number | undefined;
  let disable: boolean | undefined;
  const tags = new Map<string, CustomTag>();
  for (const l of levels) {
    if (l === undefined) continue;
    if (l.provider !== undefined) provider = l.provider;
    if (l.sampling !== undefined) sampling = l.sampling;
    if (l.disable !== undefined) disable = l.disable;
    for (const [k, v] of l.tags) tags.set(k, v);
  }
  if (provider === undefined) {
    const name = settings.defaultTracingProviders?.[0];
    provider = name === undefined ? undefined : providers.get(name);
  }
  if (provider === undefined) return undefined;
  return Object.freeze({
    provider,
    samplingPercentage: sampling ?? settings.tracingSampling ?? DEFAULT_SAMPLING_PERCENTAGE,
    customTags: Object.freeze([...tags.values()]),
    disableSpanReporting: disable ?? false,
  });
}

/** Which level `r` is for this proxy, or null when it does not apply to it. */
export function scopeFor(r: SourcedResource, spec: TelemetrySpec, proxy: TelemetryProxy, rootNamespace: string): Scope | null {
  const ns = r.resource.namespace;
  const refs = spec.targetRefs ?? (spec.targetRef !== undefined ? [spec.targetRef] : []);
  if (refs.length > 0) {
    if (proxy.gateway === undefined) return null;
    return refs.some((t) => t.kind === 'Gateway' && `${t.namespace ?? ns}/${t.name}` === proxy.gateway) ? Scope.Workload : null;
  }
  const match = spec.selector?.matchLabels;
  if (match !== undefined && Object.keys(match).length > 0) {
    if (ns !== proxy.namespace) return null;
    return Object.entries(match).every(([k, v]) => proxy.labels[k] === v) ? Scope.Workload : null;
  }
  if (ns === rootNamespace) return Scope.Mesh;
  return ns === proxy.namespace ? Scope.Namespace : null;
}

/** A resource's tracing entry for each mode (null: no entry covers it). */
interface Modes {
  readonly client: Level | null;
  readonly server: Level | null;
}

/**
 * The resource's tracing settings per mode, every entry checked; null when it has no tracing
 * section or an error. Per mode, the first entry whose `match.mode` covers it (absent:
 * CLIENT_AND_SERVER), as Istio picks it.
 */
function readModes(r: SourcedResource, spec: TelemetrySpec, providers: ReadonlyMap<string, TracingProvider>, settings: MeshSettings, issues: ConfigIssue[], warnings: string[]): Modes | null {
  if (spec.selector !== undefined && (spec.targetRef !== undefined || spec.targetRefs !== undefined)) {
    issues.push(issueAt(r.ref, 'invalid_value', ['spec', spec.targetRef !== undefined ? 'targetRef' : 'targetRefs'], 'selector and targetRef(s) are exclusive (as Istio validates)'));
    return null;
  }
  const list = spec.tracing ?? [];
  if (list.length === 0) return null;
  let ok = true;
  let client: Level | null = null;
  let server: Level | null = null;
  list.forEach((t, i) => {
    const level = readEntry(r, t, i, providers, settings, issues, warnings);
    if (level === null) {
      ok = false;
      return;
    }
    const mode = t.match?.mode ?? 'CLIENT_AND_SERVER';
    const forClient = mode !== 'SERVER' && client === null;
    const forServer = mode !== 'CLIENT' && server === null;
    if (!forClient && !forServer) warnings.push(warningAt(r.ref, ['spec', 'tracing', i], `is ignored: an earlier entry already covers ${mode} (Istio uses the first)`));
    if (forClient) client = level;
    if (forServer) server = level;
  });
  return ok ? { client, server } : null;
}

/** One tracing entry, checked; null on an error (an issue added). */
function readEntry(r: SourcedResource, t: TelemetryTracingSpec, i: number, providers: ReadonlyMap<string, TracingProvider>, settings: MeshSettings, issues: ConfigIssue[], warnings: string[]): Level | null {
  const at = ['spec', 'tracing', i] as const;
  let ok = true;
  const level: Level = { tags: new Map() };
  (t.providers ?? []).forEach((p, j) => {
    const provider = providers.get(p.name);
    if (provider === undefined) {
      const named = [...providers.keys()];
      const ext = settings.extAuthzProviders.some((e) => e.name === p.name);
      const unserved = settings.unservedTracingProviders?.[p.name];
      issues.push(issueAt(r.ref, unserved !== undefined ? 'unsupported_field' : 'invalid_value', [...at, 'providers', j, 'name'], unserved !== undefined
        ? `extension provider "${p.name}" ${unserved}`
        : ext
        ? `extension provider "${p.name}" is not a tracing provider (zipkin or opentelemetry)`
        : `no tracing extension provider is named "${p.name}" in meshConfig${named.length > 0 ? ` (defined: ${named.join(', ')})` : ' (meshConfig defines none)'}`));
      ok = false;
      return;
    }
    if (j > 0) warnings.push(warningAt(r.ref, [...at, 'providers', j], 'only the first tracing provider is used (as in Istio)'));
    else level.provider = provider;
  });
  if (t.randomSamplingPercentage !== undefined) level.sampling = t.randomSamplingPercentage;
  if (t.disableSpanReporting !== undefined) level.disable = t.disableSpanReporting;
  for (const f of ['useRequestIdForTraceSampling', 'enableIstioTags'] as const) if (t[f] !== undefined) warnings.push(warningAt(r.ref, [...at, f], 'is not served yet'));
  for (const [tag, spec] of Object.entries(t.customTags ?? {})) {
    const kinds = (['literal', 'environment', 'header'] as const).filter((k) => spec[k] !== undefined);
    if (kinds.length !== 1) {
      issues.push(issueAt(r.ref, kinds.length === 0 ? 'missing_field' : 'invalid_value', [...at, 'customTags', tag], `a custom tag takes exactly one of literal, environment, header; got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`));
      ok = false;
      continue;
    }
    if (spec.literal !== undefined) level.tags.set(tag, { tag, kind: 'literal', value: spec.literal.value });
    else if (spec.environment !== undefined) level.tags.set(tag, { tag, kind: 'environment', name: spec.environment.name, defaultValue: spec.environment.defaultValue ?? null });
    else if (spec.header !== undefined) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(spec.header.name)) {
        issues.push(issueAt(r.ref, 'invalid_value', [...at, 'customTags', tag, 'header', 'name'], 'must be an HTTP header name (RFC 9110 token)'));
        ok = false;
        continue;
      }
      level.tags.set(tag, { tag, kind: 'header', name: spec.header.name.toLowerCase(), defaultValue: spec.header.defaultValue ?? null });
    }
  }
  return ok ? level : null;
}
