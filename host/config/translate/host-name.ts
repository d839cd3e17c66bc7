// Service host names the way Kubernetes users write them: short names resolved against a
// namespace into `name.namespace.svc.cluster.local`, the short forms a client may send in
// Host, and Istio's wildcard patterns (`*`, `*.example.com`) with their intersections.

export const CLUSTER_DOMAIN = 'cluster.local';
const SVC_SUFFIX = `.svc.${CLUSTER_DOMAIN}`;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isIpAddress(host: string): boolean {
  return IPV4.test(host) || host.includes(':');
}

/**
 * The fully qualified form of a host written in a resource of `namespace`:
 *  - `web` → `web.<namespace>.svc.cluster.local`;
 *  - `web.prod` → `web.prod.svc.cluster.local` when `prod` is a namespace of the loaded config
 *    (Kubernetes DNS would resolve it that way); otherwise the name is already a domain
 *    (`httpbin.org`). Istio itself keeps every dotted name as written; we follow what a
 *    Kubernetes client resolves, as the team's design asks, and only for known namespaces so
 *    that external two-label names stay untouched;
 *  - `web.prod.svc` → `web.prod.svc.cluster.local`;
 *  - anything else, `*`, `*.suffix` and IP addresses are kept as written (lower-cased).
 */
export function expandHost(host: string, namespace: string, knownNamespaces: ReadonlySet<string>): string {
  const h = host.toLowerCase();
  if (h === '*' || h.startsWith('*.') || isIpAddress(h)) return h;
  const labels = h.split('.');
  if (labels.length === 1) return `${h}.${namespace}${SVC_SUFFIX}`;
  if (labels.length === 2 && knownNamespaces.has(labels[1]!)) return `${h}${SVC_SUFFIX}`;
  if (labels.length === 3 && labels[2] === 'svc') return `${h}.${CLUSTER_DOMAIN}`;
  return h;
}

/** `{ name, namespace }` of a Kubernetes-style service FQDN, or null for any other host. */
export function serviceParts(fqdn: string): { name: string; namespace: string } | null {
  if (!fqdn.endsWith(SVC_SUFFIX)) return null;
  const labels = fqdn.slice(0, -SVC_SUFFIX.length).split('.');
  if (labels.length !== 2) return null;
  return { name: labels[0]!, namespace: labels[1]! };
}

/**
 * The authorities a client inside the mesh may use for `fqdn`, shortest first: for a service
 * `web.default.svc.cluster.local` seen from a proxy in namespace `default`: `web`,
 * `web.default`, `web.default.svc`, the FQDN. As in Istio's sidecar routes, the bare `web`
 * is only offered to proxies of the same namespace (elsewhere it means another service).
 * Each form is followed by its `:port` variants, one per service port.
 */
export function meshDomains(fqdn: string, proxyNamespace: string, ports: readonly number[]): string[] {
  const parts = serviceParts(fqdn);
  const forms: string[] = [];
  if (parts !== null) {
    if (parts.namespace === proxyNamespace) forms.push(parts.name);
    forms.push(`${parts.name}.${parts.namespace}`, `${parts.name}.${parts.namespace}.svc`);
  }
  forms.push(fqdn);
  const out: string[] = [];
  for (const form of forms) {
    out.push(form);
    for (const port of ports) out.push(`${form}:${port}`);
  }
  return out;
}

/** True when host pattern `pattern` covers every name `host` covers (`*` covers all). */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host === pattern || host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** The more specific of two host patterns when one covers the other, else null (disjoint). */
export function intersectHosts(a: string, b: string): string | null {
  if (hostCovers(a, b)) return b;
  if (hostCovers(b, a)) return a;
  return null;
}
