// The services we know without Kubernetes: every ServiceEntry host with its ports and its
// workloads — inline endpoints and the WorkloadEntries its workloadSelector picks — and the
// endpoints of one service port, where a workload's `ports` map the port's name to its own.
import type { ConfigIssue } from '../config-error.js';
import { expandHost } from './host-name.js';
import type { ServiceEntrySpec, ServicePortSpec, WorkloadEntrySpec } from '../istio-schemas.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { Endpoint } from '../../model/mesh.js';
import type { PathSegment } from '../yaml-source.js';

export interface Workload {
  address: string;
  ports: Record<string, number>;
  labels: Record<string, string>;
  weight: number;
  /** spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount> when the entry names a service account. */
  spiffeId?: string;
  /** Where it was defined, for messages. */
  ref: DocumentRef;
  path: PathSegment[];
}

export interface ServiceHost {
  /** Fully qualified host (or `*.suffix` pattern). */
  host: string;
  namespace: string;
  /** What defined it: a ServiceEntry, or a Kubernetes Service in file mode (kube-registry.ts). */
  source: { kind: 'ServiceEntry' | 'Service'; name: string; file: string };
  spec: ServiceEntrySpec;
  ports: ServicePortSpec[];
  workloads: Workload[];
}

export interface RegistryContext {
  issues: ConfigIssue[];
  warnings: string[];
  knownNamespaces: ReadonlySet<string>;
  /** LoadOptions.trustDomain; default DEFAULT_TRUST_DOMAIN. */
  trustDomain?: string;
}

/** HTTP/1.1 is what the data path speaks; protocols we would carry differently are flagged. */
const HTTP_PROTOCOLS = new Set(['', 'HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

function isSubset(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The trust domain of endpoint identities when the load names none (Istio's default). */
const DEFAULT_TRUST_DOMAIN = 'cluster.local';

function toWorkload(spec: WorkloadEntrySpec, namespace: string, ref: DocumentRef, path: PathSegment[], trustDomain: string): Workload {
  const w: Workload = { address: spec.address ?? '', ports: spec.ports ?? {}, labels: spec.labels ?? {}, weight: spec.weight ?? 0, ref, path };
  // The identity a mesh mTLS peer at this address must prove (the expected SAN of auto mTLS and ISTIO_MUTUAL).
  if (spec.serviceAccount) w.spiffeId = `spiffe://${trustDomain}/ns/${namespace}/sa/${spec.serviceAccount}`;
  return w;
}

export function buildServiceRegistry(
  serviceEntries: readonly SourcedResource[],
  workloadEntries: readonly SourcedResource[],
  ctx: RegistryContext,
): Map<string, ServiceHost> {
  const services = new Map<string, ServiceHost>();
  // WorkloadEntries by name so a selector picks them in a stable order whatever the file order.
  const wes = [...workloadEntries].sort((a, b) =>
    a.resource.namespace === b.resource.namespace
      ? a.resource.name < b.resource.name ? -1 : 1
      : a.resource.namespace < b.resource.namespace ? -1 : 1,
  );
  for (const we of wes) {
    if (!(we.resource.spec as WorkloadEntrySpec).address) {
      ctx.issues.push(issueAt(we.ref, 'missing_field', ['spec', 'address'], 'a WorkloadEntry needs an address'));
    }
  }
  for (const entry of serviceEntries) {
    const spec = entry.resource.spec as ServiceEntrySpec;
    const ns = entry.resource.namespace;
    const ref = entry.ref;
    const resolution = spec.resolution ?? 'NONE';
    const portNames = new Set<string>();
    const portNumbers = new Set<number>();
    (spec.ports ?? []).forEach((p, i) => {
      if (portNames.has(p.name)) ctx.issues.push(issueAt(ref, 'invalid_value', ['spec', 'ports', i, 'name'], `port name "${p.name}" is defined twice`));
      if (portNumbers.has(p.number)) ctx.issues.push(issueAt(ref, 'invalid_value', ['spec', 'ports', i, 'number'], `port ${p.number} is defined twice`));
      portNames.add(p.name);
      portNumbers.add(p.number);
      const protocol = (p.protocol ?? '').toUpperCase();
      if (!HTTP_PROTOCOLS.has(protocol)) {
        ctx.warnings.push(warningAt(ref, ['spec', 'ports', i, 'protocol'], `protocol ${p.protocol}: carried as TCP by sidecars that see original destinations (TPROXY interception); traffic routed to port ${p.number} by Host is sent as plain HTTP/1.1`));
      }
    });
    if (spec.workloadSelector !== undefined && spec.endpoints !== undefined) {
      // Istio's validation rejects it too: the two are alternative ways to list the instances.
      ctx.issues.push(issueAt(ref, 'invalid_value', ['spec', 'workloadSelector'], 'only one of workloadSelector or endpoints is allowed in a ServiceEntry'));
    }
    const workloads: Workload[] = [];
    (spec.endpoints ?? []).forEach((ep, i) => {
      const path = ['spec', 'endpoints', i];
      if (!ep.address) ctx.issues.push(issueAt(ref, 'missing_field', [...path, 'address'], 'an endpoint needs an address'));
      for (const name of Object.keys(ep.ports ?? {})) {
        if (!portNames.has(name)) ctx.issues.push(issueAt(ref, 'invalid_value', [...path, 'ports', name], `endpoint port "${name}" is not a port name of this ServiceEntry (${[...portNames].join(', ') || 'none'})`));
      }
      if (ep.address?.startsWith('unix://')) {
        ctx.warnings.push(warningAt(ref, [...path, 'address'], 'unix domain socket endpoints are not served yet; endpoint skipped'));
        return;
      }
      workloads.push(toWorkload(ep, ns, ref, path, ctx.trustDomain ?? DEFAULT_TRUST_DOMAIN));
    });
    if (spec.workloadSelector !== undefined) {
      const selector = spec.workloadSelector.labels ?? {};
      // Istio scopes a selector to the ServiceEntry's own namespace.
      for (const we of wes) {
        const weSpec = we.resource.spec as WorkloadEntrySpec;
        if (we.resource.namespace !== ns || !isSubset(selector, weSpec.labels ?? {}) || !weSpec.address) continue;
        for (const name of Object.keys(weSpec.ports ?? {})) {
          if (!portNames.has(name)) ctx.warnings.push(warningAt(we.ref, ['spec', 'ports', name], `port name "${name}" is not a port of ServiceEntry ${ns}/${entry.resource.name}; ignored for it`));
        }
        workloads.push(toWorkload(weSpec, we.resource.namespace, we.ref, ['spec'], ctx.trustDomain ?? DEFAULT_TRUST_DOMAIN));
      }
    }
    switch (resolution) {
      case 'STATIC':
        break;
      case 'NONE':
        if (spec.endpoints !== undefined) {
          ctx.issues.push(issueAt(ref, 'invalid_value', ['spec', 'endpoints'], 'no endpoints may be given with resolution NONE (use STATIC)'));
        }
        // Istio's ORIGINAL_DST cluster: each request goes to the address the client asked for
        // (resolve-mesh.ts makes its clusters PASSTHROUGH); listed workloads are not used.
        if (workloads.length > 0) ctx.warnings.push(warningAt(ref, ['spec', 'workloadSelector'], 'resolution NONE passes each request through to the address its authority names: the selected workloads are not used as endpoints (use STATIC)'));
        workloads.length = 0;
        break;
      case 'DNS':
      case 'DNS_ROUND_ROBIN':
        // The proxy resolves the endpoint names (or the host itself when there are none) and
        // refreshes them by their TTL (host/upstream/dns-refresher.ts), as Envoy's DNS clusters.
        break;
      default:
        ctx.warnings.push(warningAt(ref, ['spec', 'resolution'], `resolution ${resolution} is not served yet: the service has no endpoints and answers 503`));
        workloads.length = 0;
    }
    for (const [i, raw] of spec.hosts.entries()) {
      const host = expandHost(raw, ns, ctx.knownNamespaces);
      if (host === '*') {
        ctx.issues.push(issueAt(ref, 'invalid_value', ['spec', 'hosts', i], 'a ServiceEntry host cannot be "*"'));
        continue;
      }
      let hostWorkloads = workloads;
      if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && workloads.length === 0 && !host.startsWith('*.')) {
        hostWorkloads = [{ address: host, ports: {}, labels: {}, weight: 0, ref, path: ['spec', 'hosts', i] }];
      }
      const previous = services.get(host);
      if (previous !== undefined) {
        ctx.warnings.push(warningAt(ref, ['spec', 'hosts', i], `host ${host} is also defined by ServiceEntry ${previous.namespace}/${previous.source.name} (${previous.source.file}); this later definition is used`));
      }
      services.set(host, { host, namespace: ns, source: { kind: 'ServiceEntry', name: entry.resource.name, file: entry.resource.file }, spec, ports: spec.ports ?? [], workloads: hostWorkloads });
    }
  }
  return services;
}

/** The endpoints of `service` on `port`, keeping those whose labels include `selector`. */
export function endpointsFor(service: ServiceHost, port: ServicePortSpec, selector: Record<string, string>): Endpoint[] {
  const out: Endpoint[] = [];
  for (const w of service.workloads) {
    if (!isSubset(selector, w.labels)) continue;
    out.push({
      address: w.address,
      port: w.ports[port.name] ?? port.targetPort ?? port.number,
      labels: { ...w.labels },
      // Istio's default endpoint weight is 1 (0 means unset).
      weight: w.weight > 0 ? w.weight : 1,
      ...(w.spiffeId !== undefined && { spiffeId: w.spiffeId }),
    });
  }
  return out;
}
