// What building one proxy's routes shares: where issues and warnings go, the services and
// subsets known, the proxy's identity, and the clusters routes name — resolved from an Istio
// Destination the way Istio names them, so resolution can emit each one even when nothing
// defines it (no endpoints: 503 at runtime, as in Istio).
import type { ConfigIssue } from '../config-error.js';
import { expandHost } from './host-name.js';
import type { DestinationSpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { ProxyIdentity } from './match-builder.js';
import type { SourcedResource } from '../read-resource.js';
import type { ServiceHost } from './service-registry.js';
import type { SubsetRegistry } from './subset-registry.js';
import type { PathSegment } from '../yaml-source.js';

/** A cluster a route names, so resolution can emit it even when nothing defines it. */
export interface ClusterRef {
  name: string;
  host: string;
  port: number;
  subset: string | null;
}

export interface RouteContext {
  issues: ConfigIssue[];
  warnings: string[];
  knownNamespaces: ReadonlySet<string>;
  services: ReadonlyMap<string, ServiceHost>;
  subsets: SubsetRegistry;
  clusterRefs: Map<string, ClusterRef>;
  proxy: ProxyIdentity;
}

export function clusterName(port: number, subset: string | null, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/**
 * The cluster an Istio Destination (at `path` in `vs`) names: host expanded, port from
 * `port.number` or the service's only port, subset as given. Unknown hosts, ports and subsets
 * are warnings (Istio accepts them and answers 503); a missing port on a multi-port service
 * is an error. The cluster is recorded in ctx.clusterRefs.
 */
export function resolveCluster(vs: SourcedResource, d: DestinationSpec, path: PathSegment[], ctx: RouteContext): string {
  const host = expandHost(d.host, vs.resource.namespace, ctx.knownNamespaces);
  const subset = d.subset ?? null;
  const service = ctx.services.get(host);
  let port = d.port?.number ?? null;
  if (service === undefined) {
    // Istio accepts a destination it has no service for; Envoy then answers 503 for it.
    ctx.warnings.push(warningAt(vs.ref, [...path, 'host'], `no ServiceEntry defines host ${host}: requests routed here get 503 (no healthy upstream)`));
  } else if (port === null) {
    if (service.ports.length === 1) port = service.ports[0]!.number;
    else {
      ctx.issues.push(
        issueAt(vs.ref, 'ambiguous_port', path, `destination.port.number is required: ${service.source.kind} ${service.namespace}/${service.source.name} gives ${host} ${service.ports.length === 0 ? 'no ports' : `ports ${service.ports.map((p) => p.number).join(', ')}`}`),
      );
    }
  } else if (!service.ports.some((p) => p.number === port)) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'port', 'number'], `port ${port} is not a port of ${host} (${service.ports.map((p) => p.number).join(', ')}): requests routed here get 503`));
  }
  if (subset !== null && !ctx.subsets.subsetsFor(host).has(subset)) {
    ctx.warnings.push(warningAt(vs.ref, [...path, 'subset'], `no DestinationRule defines subset "${subset}" for host ${host}: requests routed here get 503 (no healthy upstream)`));
  }
  // Port unknown (no service, no port given): 0 names a cluster that has no endpoints.
  const effectivePort = port ?? 0;
  const name = clusterName(effectivePort, subset, host);
  if (!ctx.clusterRefs.has(name)) ctx.clusterRefs.set(name, { name, host, port: effectivePort, subset });
  return name;
}
