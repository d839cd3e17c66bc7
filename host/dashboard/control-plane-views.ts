// What the dashboard shows from the control plane's monitoring port: every proxy's xDS sync
// state (/debug/syncz, what `wasmesh proxy-status` reads) and the resources that apply to one
// workload (/debug/configz): VirtualServices and DestinationRules by the services it serves,
// policies (AuthorizationPolicy, PeerAuthentication, RequestAuthentication, Sidecar, Telemetry,
// EnvoyFilter, WasmPlugin) by namespace and workload selector, as Istio scopes them.

export interface ProxySyncRow {
  readonly proxy: string;
  readonly kind: string;
  /** Per xDS type (CDS, LDS, …): SYNCED, STALE, NACKED, NOT SENT or IGNORED. */
  readonly types: Readonly<Record<string, string>>;
  /** SYNCED when every watched type is; otherwise the worst state. */
  readonly overall: string;
  readonly error: string | null;
}

export interface AppliedResource {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly file: string | null;
  /** Why it applies: the host it routes, or the selector / namespace scope. */
  readonly why: string;
}

export interface WorkloadScope {
  readonly namespace: string;
  readonly workload: string;
  /** Labels known from the metrics: the canonical service as app (Istio derives it from app / service.istio.io/canonical-name). */
  readonly app: string;
  /** Service hosts the workload serves (destination_service of the edges into it). */
  readonly services?: readonly string[];
}

export interface ControlPlaneViews {
  readonly url: string;
  proxies(): Promise<ProxySyncRow[]>;
  appliesTo(scope: WorkloadScope): Promise<AppliedResource[]>;
}

interface ConfigzResource {
  kind: string;
  namespace: string;
  name: string;
  file?: string;
  spec?: Record<string, unknown>;
}

/** Istio's root namespace: its policies without a selector apply mesh-wide. */
const ROOT_NAMESPACE = 'istio-system';
const SEVERITY = ['NACKED', 'STALE', 'NOT SENT', 'SYNCED', 'IGNORED'];
const SELECTOR_KINDS = new Set(['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication', 'Sidecar', 'Telemetry', 'EnvoyFilter', 'WasmPlugin']);

/** A short host (`reviews`) is the service in the resource's own namespace, as Istio reads it. */
export function fqdn(host: string, namespace: string): string {
  if (host.includes('.')) return host.endsWith('.') ? host.slice(0, -1) : host;
  return `${host}.${namespace}.svc.cluster.local`;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The destination hosts a VirtualService routes to (http, tcp and tls routes). */
function routeHosts(spec: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const section of ['http', 'tcp', 'tls']) {
    const rules = spec[section];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      const route = (rule as { route?: unknown }).route;
      if (!Array.isArray(route)) continue;
      for (const r of route) {
        const host = (r as { destination?: { host?: unknown } }).destination?.host;
        if (typeof host === 'string') out.push(host);
      }
    }
  }
  return out;
}

/** Pure: which of `resources` apply to the workload (unit-tested without a control plane). */
export function resourcesApplyingTo(resources: readonly ConfigzResource[], scope: WorkloadScope): AppliedResource[] {
  const services = new Set(scope.services ?? []);
  if (scope.app !== '' && scope.app !== 'unknown') services.add(fqdn(scope.app, scope.namespace));
  const labels: Record<string, string> = scope.app !== '' ? { app: scope.app } : {};
  const out: AppliedResource[] = [];
  const add = (r: ConfigzResource, why: string): void => void out.push({ kind: r.kind, namespace: r.namespace, name: r.name, file: r.file ?? null, why });
  for (const r of resources) {
    const spec = r.spec ?? {};
    if (r.kind === 'VirtualService') {
      const hosts = [...strings(spec.hosts), ...routeHosts(spec)].map((h) => fqdn(h, r.namespace));
      const hit = [...services].find((s) => hosts.some((h) => hostMatches(h, s)));
      if (hit !== undefined) add(r, `routes ${hit}`);
    } else if (r.kind === 'DestinationRule') {
      const host = typeof spec.host === 'string' ? fqdn(spec.host, r.namespace) : '';
      const hit = [...services].find((s) => hostMatches(host, s));
      if (hit !== undefined) add(r, `traffic policy for ${hit}`);
    } else if (SELECTOR_KINDS.has(r.kind)) {
      if (r.namespace !== scope.namespace && r.namespace !== ROOT_NAMESPACE) continue;
      const selector = (spec.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels
        ?? (spec.workloadSelector as { labels?: Record<string, string> } | undefined)?.labels;
      if (selector === undefined || Object.keys(selector).length === 0) {
        add(r, r.namespace === ROOT_NAMESPACE && scope.namespace !== ROOT_NAMESPACE ? 'mesh-wide (root namespace, no selector)' : `namespace-wide (${r.namespace})`);
        continue;
      }
      // Only the app label is known from the metrics: a selector on other labels is shown as possible.
      const known = Object.entries(selector).filter(([k]) => k in labels);
      if (known.some(([k, v]) => labels[k] !== v)) continue;
      add(r, known.length === Object.keys(selector).length
        ? `selector ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')}`
        : `selector ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')} (labels other than app not known from metrics)`);
    }
  }
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function summarizeSync(entries: ReadonlyArray<{ proxy: string; kind: string; types: Record<string, { state: string }>; error: string | null }>): ProxySyncRow[] {
  return entries.map((e) => {
    const types = Object.fromEntries(Object.entries(e.types).map(([t, v]) => [t, v.state]));
    const states = Object.values(types);
    const overall = states.length === 0 ? 'NOT SENT' : SEVERITY.find((s) => states.includes(s) && s !== 'IGNORED') ?? 'SYNCED';
    return { proxy: e.proxy, kind: e.kind, types, overall, error: e.error };
  }).sort((a, b) => a.proxy.localeCompare(b.proxy));
}

export function controlPlaneViews(url: string, timeoutMs = 5000): ControlPlaneViews {
  const base = new URL(url.endsWith('/') ? url : url + '/');
  if (base.protocol !== 'http:') throw new TypeError(`--control-plane must be the control plane's monitoring URL (http://host:15014): ${url}`);
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(new URL(path, base), { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) throw new Error(`control plane ${path}: HTTP ${res.status}`);
    return res.json();
  };
  return {
    url: base.href,
    async proxies() {
      return summarizeSync((await get('debug/syncz')) as Parameters<typeof summarizeSync>[0]);
    },
    async appliesTo(scope) {
      const body = (await get('debug/configz')) as { resources?: ConfigzResource[] };
      return resourcesApplyingTo(body.resources ?? [], scope);
    },
  };
}
