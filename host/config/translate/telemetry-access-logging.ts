// The Telemetry API's accessLogging section resolved for one proxy, over meshConfig's access-log
// providers (access-log-providers.ts). Scope as for tracing (telemetry-tracing.ts scopeFor): root
// namespace, namespace, selector / targetRefs; per mode (CLIENT: what the workload sends and a
// gateway's traffic; SERVER: a sidecar's inbound), the most specific level that sets a field wins
// (providers, disabled, filter), Istio's merge. Without providers from any level: meshConfig
// defaultProviders.accessLogging, else the built-in `envoy` provider when meshConfig
// accessLogFile is set, else no access log. filter.expression is CEL in Istio; wasmesh serves a
// comparison of response.code with an integer (`response.code >= 400`) and refuses any other
// expression with a located error: a filter read wrongly would drop or keep the wrong lines.
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { TelemetryAccessLoggingSpec, TelemetrySpec } from '../telemetry-schema.js';
import type { MeshSettings } from '../../model/mesh-settings.js';
import type { AccessLogTarget, ResponseCodeFilter } from '../../model/access-logging.js';
import { ENVOY_PROVIDER } from './access-log-providers.js';
import { scopeFor, type TelemetryProxy } from './telemetry-tracing.js';

interface Level {
  providers?: readonly AccessLogTarget[];
  disabled?: boolean;
  filter?: ResponseCodeFilter;
}

interface Modes {
  readonly client: Level | null;
  readonly server: Level | null;
}

/** The access logs of the proxy per mode; an empty list: none. */
export interface ProxyAccessLogs {
  readonly client: readonly AccessLogTarget[];
  readonly server: readonly AccessLogTarget[];
}

export function telemetryAccessLogging(resources: readonly SourcedResource[], proxy: TelemetryProxy, settings: MeshSettings, issues: ConfigIssue[], warnings: string[]): ProxyAccessLogs {
  const providers = new Map((settings.accessLogProviders ?? []).map((p) => [p.provider, p]));
  const levels: Array<Modes | undefined> = [undefined, undefined, undefined];
  const held: Array<SourcedResource | undefined> = [undefined, undefined, undefined];
  for (const r of resources) {
    if (r.resource.kind !== 'Telemetry') continue;
    const spec = (r.resource.spec ?? {}) as TelemetrySpec;
    const list = spec.accessLogging ?? [];
    if (list.length === 0) continue;
    const modes = readModes(r, list, providers, issues, warnings);
    if (modes === null) continue;
    const scope = scopeFor(r, spec, proxy, settings.rootNamespace);
    if (scope === null) continue;
    const have = held[scope];
    if (have !== undefined) {
      warnings.push(warningAt(r.ref, ['spec', 'accessLogging'], `another Telemetry (${have.ref.name ?? '?'}) already applies at this level; this one is ignored, as istiod keeps the oldest`));
      continue;
    }
    held[scope] = r;
    levels[scope] = modes;
  }
  const defaults = (settings.defaultAccessLogProviders ?? (settings.meshAccessLogFile === true ? [ENVOY_PROVIDER] : []))
    .map((n) => providers.get(n)).filter((p): p is AccessLogTarget => p !== undefined);
  return {
    client: merged(levels.map((l) => l?.client ?? undefined), defaults),
    server: merged(levels.map((l) => l?.server ?? undefined), defaults),
  };
}

function merged(levels: ReadonlyArray<Level | undefined>, defaults: readonly AccessLogTarget[]): readonly AccessLogTarget[] {
  let providers: readonly AccessLogTarget[] | undefined;
  let disabled = false;
  let filter: ResponseCodeFilter | undefined;
  for (const l of levels) {
    if (l === undefined) continue;
    if (l.providers !== undefined) providers = l.providers;
    if (l.disabled !== undefined) disabled = l.disabled;
    if (l.filter !== undefined) filter = l.filter;
  }
  if (disabled) return Object.freeze([]);
  const list = providers ?? defaults;
  return Object.freeze(list.map((p) => (filter === undefined ? p : Object.freeze({ ...p, filter }))));
}

function readModes(r: SourcedResource, list: readonly TelemetryAccessLoggingSpec[], providers: ReadonlyMap<string, AccessLogTarget>, issues: ConfigIssue[], warnings: string[]): Modes | null {
  let ok = true;
  let client: Level | null = null;
  let server: Level | null = null;
  list.forEach((entry, i) => {
    const level = readEntry(r, entry, i, providers, issues);
    if (level === null) {
      ok = false;
      return;
    }
    const mode = entry.match?.mode ?? 'CLIENT_AND_SERVER';
    const forClient = mode !== 'SERVER' && client === null;
    const forServer = mode !== 'CLIENT' && server === null;
    if (!forClient && !forServer) warnings.push(warningAt(r.ref, ['spec', 'accessLogging', i], `is ignored: an earlier entry already covers ${mode}`));
    if (forClient) client = level;
    if (forServer) server = level;
  });
  return ok ? { client, server } : null;
}

function readEntry(r: SourcedResource, t: TelemetryAccessLoggingSpec, i: number, providers: ReadonlyMap<string, AccessLogTarget>, issues: ConfigIssue[]): Level | null {
  const at = ['spec', 'accessLogging', i] as const;
  const level: Level = {};
  let ok = true;
  if (t.providers !== undefined) {
    const list: AccessLogTarget[] = [];
    t.providers.forEach((p, j) => {
      const found = providers.get(p.name);
      if (found === undefined) {
        issues.push(issueAt(r.ref, 'invalid_value', [...at, 'providers', j, 'name'], `no access-log provider is named "${p.name}" (defined: ${[...providers.keys()].join(', ') || 'none'}; envoy is meshConfig's accessLogFile)`));
        ok = false;
      } else list.push(found);
    });
    level.providers = Object.freeze(list);
  }
  if (t.disabled !== undefined) level.disabled = t.disabled;
  if (t.filter !== undefined) {
    const f = parseFilter(t.filter.expression);
    if (typeof f === 'string') {
      issues.push(issueAt(r.ref, 'unsupported_field', [...at, 'filter', 'expression'], f));
      ok = false;
    } else level.filter = f;
  }
  return ok ? level : null;
}

const FILTER = /^\s*(?:response\.code\s*(==|!=|<=|>=|<|>)\s*(\d{1,3})|(\d{1,3})\s*(==|!=|<=|>=|<|>)\s*response\.code)\s*$/;
const FLIPPED: Record<string, ResponseCodeFilter['op']> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/** A response.code comparison, or why the expression is refused. */
export function parseFilter(expression: string): ResponseCodeFilter | string {
  const m = FILTER.exec(expression);
  if (m === null) return `"${expression}": wasmesh serves only a comparison of response.code with an integer (such as "response.code >= 400"); other CEL expressions are refused rather than filtering wrongly`;
  if (m[1] !== undefined) return Object.freeze({ op: m[1] as ResponseCodeFilter['op'], value: Number(m[2]) });
  return Object.freeze({ op: FLIPPED[m[4]!]!, value: Number(m[3]) });
}
