// Read-only lookups into the loaded Istio resources for what the resolved MeshConfig does not
// carry yet (VirtualService retries, DestinationRule traffic policies): the Envoy translation
// reads them here, in one place, so it shrinks when host/config grows those fields.

/** The part of a loaded Istio resource the translation reads. */
export interface IstioResourceLike {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Accepts both host/config's LoadedResource (`{ kind, namespace, name, spec, file, … }`) and the
 * Kubernetes shape (`{ kind, metadata: { name, namespace }, spec }`); skips anything else.
 */
export function normalizeResources(resources: readonly unknown[] | undefined): IstioResourceLike[] {
  const out: IstioResourceLike[] = [];
  for (const r of resources ?? []) {
    if (!isObj(r) || typeof r.kind !== 'string') continue;
    const spec = isObj(r.spec) ? r.spec : undefined;
    if (isObj(r.metadata) && typeof r.metadata.name === 'string') {
      const namespace = typeof r.metadata.namespace === 'string' ? r.metadata.namespace : undefined;
      out.push({ kind: r.kind, metadata: { name: r.metadata.name, namespace }, spec });
    } else if (typeof r.name === 'string') {
      const namespace = typeof r.namespace === 'string' ? r.namespace : undefined;
      out.push({ kind: r.kind, metadata: { name: r.name, namespace }, spec });
    }
  }
  return out;
}

export const DEFAULT_DOMAIN_SUFFIX = 'svc.cluster.local';

/** Istio's short-name rule: a host without a dot is `<host>.<namespace>.svc.cluster.local`. */
export function resolveHost(host: string, namespace: string): string {
  if (host === '*' || host.startsWith('*') || host.includes('.')) return host.toLowerCase();
  return `${host}.${namespace}.${DEFAULT_DOMAIN_SUFFIX}`.toLowerCase();
}

export class IstioResources {
  readonly #all: IstioResourceLike[];
  readonly #defaultNamespace: string;

  constructor(resources: readonly unknown[] | undefined, defaultNamespace = 'default') {
    this.#all = normalizeResources(resources);
    this.#defaultNamespace = defaultNamespace;
  }

  namespaceOf(r: IstioResourceLike): string {
    return r.metadata.namespace ?? this.#defaultNamespace;
  }

  ofKind(kind: string): IstioResourceLike[] {
    return this.#all.filter((r) => r.kind === kind);
  }

  /** The VirtualService named `namespace/name`, if loaded. */
  virtualService(namespace: string, name: string): IstioResourceLike | undefined {
    return this.ofKind('VirtualService').find((r) => r.metadata.name === name && this.namespaceOf(r) === namespace);
  }

  /**
   * The DestinationRule for a fully qualified service host, as Istio picks it: an exact host
   * first, else the wildcard (`*.suffix`, `*`) with the longest suffix.
   */
  destinationRule(fqdn: string): IstioResourceLike | undefined {
    const host = fqdn.toLowerCase();
    let best: IstioResourceLike | undefined;
    let bestLen = -1;
    for (const dr of this.ofKind('DestinationRule')) {
      const raw = dr.spec?.host;
      if (typeof raw !== 'string') continue;
      const drHost = resolveHost(raw, this.namespaceOf(dr));
      if (drHost === host) return dr;
      if (drHost === '*' && bestLen < 0) {
        best = dr;
        bestLen = 0;
      } else if (drHost.startsWith('*.') && host.endsWith(drHost.slice(1)) && drHost.length > bestLen) {
        best = dr;
        bestLen = drHost.length;
      }
    }
    return best;
  }
}

/**
 * Splits a MeshConfig route name `<namespace>/<virtualservice>/<rule name or index>` into its
 * parts; null when the name does not have that shape (routes made by other means).
 */
export function parseRouteName(name: string): { namespace: string; virtualService: string; rule: string } | null {
  const first = name.indexOf('/');
  const second = first < 0 ? -1 : name.indexOf('/', first + 1);
  if (first <= 0 || second <= first + 1 || second === name.length - 1) return null;
  return { namespace: name.slice(0, first), virtualService: name.slice(first + 1, second), rule: name.slice(second + 1) };
}

/** The VirtualService `http` rule a route came from: by rule name, else by index. */
export function findHttpRule(vs: IstioResourceLike, rule: string): { rule: Obj; index: number } | undefined {
  const http = vs.spec?.http;
  if (!Array.isArray(http)) return undefined;
  const byName = http.findIndex((r) => isObj(r) && r.name === rule);
  if (byName >= 0) return { rule: http[byName] as Obj, index: byName };
  if (/^\d+$/.test(rule)) {
    const i = Number(rule);
    if (isObj(http[i])) return { rule: http[i] as Obj, index: i };
  }
  return undefined;
}
