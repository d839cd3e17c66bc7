// Kubernetes Services as a service registry in file mode (no API server): a Service and its
// EndpointSlices (or Endpoints, or Pods that have an address) become a service host the way a
// ServiceEntry and its WorkloadEntries do — `<name>.<namespace>.svc.cluster.local`, the Service's
// ports (name, appProtocol, targetPort), its ready endpoints only — so a tutorial's manifests
// route once the addresses exist. What has no address stays out, with a warning saying what to add.
// The same objects from a live API server (`control-plane --kube`, KubeSourced.live) are read the
// same way, except that a Pod without an IP is skipped silently and a Service without endpoints is
// served with none: there the controllers add them over time.
import type { ServiceEntrySpec, ServicePortSpec } from '../istio-schemas.js';
import type { KubeEndpoints, KubeEndpointSlice, KubePod, KubeService, KubeServicePort } from '../kube-schemas.js';
import type { KubeSourced } from '../read-resource.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { RegistryContext, ServiceHost, Workload } from './service-registry.js';

/** The label that ties an EndpointSlice to its Service (discovery.k8s.io/v1). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const CLUSTER_DOMAIN = 'svc.cluster.local';

/** appProtocol values Kubernetes defines beside Istio's protocol names (KEP-3726). */
const KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, string>> = { 'kubernetes.io/h2c': 'HTTP2', 'kubernetes.io/ws': 'HTTP', 'kubernetes.io/wss': 'HTTPS' };

interface PodInfo {
  source: KubeSourced;
  labels: Record<string, string>;
  ip: string;
  ready: boolean;
  /** Container port names → numbers (a Service's targetPort may name one). */
  namedPorts: Map<string, number>;
  /** spiffe://<trust domain>/ns/<ns>/sa/<spec.serviceAccountName, else default>: the identity its sidecar proves. */
  spiffeId: string;
}

const key = (ns: string, name: string): string => `${ns}/${name}`;

/**
 * Adds the service hosts of the Kubernetes objects to `services` (the ServiceEntry registry). A
 * ServiceEntry for the same host keeps it (the file's explicit stand-in wins; warned). Services
 * with no endpoint source are left out with a warning; bad references are located issues.
 */
export function addKubeServices(services: Map<string, ServiceHost>, objects: readonly KubeSourced[], ctx: RegistryContext): void {
  const ofKind = (kind: KubeSourced['kind']): KubeSourced[] => objects.filter((o) => o.kind === kind);
  const pods = podsOf(ofKind('Pod'), ctx);
  const serviceObjects = ofKind('Service');
  const serviceKeys = new Set(serviceObjects.map((s) => key(s.namespace, s.name)));

  const slices = new Map<string, KubeSourced[]>();
  for (const s of ofKind('EndpointSlice')) {
    const owner = (s.object as KubeEndpointSlice).metadata.labels?.[SERVICE_NAME_LABEL];
    if (owner === undefined) {
      ctx.warnings.push(warningAt(s.ref, ['metadata', 'labels'], `EndpointSlice has no ${SERVICE_NAME_LABEL} label, so it belongs to no Service; ignored`));
      continue;
    }
    if (!serviceKeys.has(key(s.namespace, owner))) {
      ctx.warnings.push(warningAt(s.ref, ['metadata', 'labels', SERVICE_NAME_LABEL], `no Service ${key(s.namespace, owner)} in the loaded files; its endpoints are not used`));
      continue;
    }
    const list = slices.get(key(s.namespace, owner)) ?? [];
    list.push(s);
    slices.set(key(s.namespace, owner), list);
  }
  const endpoints = new Map<string, KubeSourced>();
  for (const e of ofKind('Endpoints')) {
    if (!serviceKeys.has(key(e.namespace, e.name))) {
      ctx.warnings.push(warningAt(e.ref, ['metadata', 'name'], `no Service ${key(e.namespace, e.name)} in the loaded files (Endpoints belong to the Service of the same name); not used`));
      continue;
    }
    endpoints.set(key(e.namespace, e.name), e);
  }

  for (const source of serviceObjects) {
    const svc = source.object as KubeService;
    const kubeSpec = svc.spec ?? {};
    const host = `${source.name}.${source.namespace}.${CLUSTER_DOMAIN}`;
    const previous = services.get(host);
    if (previous !== undefined) {
      // A ServiceEntry standing in for this Service (examples/000-web-demo does so): it is used.
      ctx.warnings.push(warningAt(source.ref, [], `host ${host} is also defined by ${previous.source.kind} ${previous.namespace}/${previous.source.name} (${previous.source.file}); the ServiceEntry is used, this Service is not`));
      continue;
    }
    const ports = servicePorts(source, kubeSpec.ports ?? [], ctx);
    let workloads: Workload[];
    let spec: ServiceEntrySpec;
    if (kubeSpec.type === 'ExternalName') {
      const external = kubeSpec.externalName;
      if (external === undefined || external === '') {
        ctx.issues.push(issueAt(source.ref, 'missing_field', ['spec', 'externalName'], 'a Service of type ExternalName needs externalName (the DNS name it stands for)'));
        continue;
      }
      // Istio's DNS cluster to the external name, on each service port.
      spec = { hosts: [host], ports, location: 'MESH_EXTERNAL', resolution: 'DNS' };
      workloads = [{ address: external, ports: {}, labels: {}, weight: 0, ref: source.ref, path: ['spec', 'externalName'] }];
    } else {
      const fromSlices = slices.get(key(source.namespace, source.name));
      const fromEndpoints = endpoints.get(key(source.namespace, source.name));
      if (fromSlices !== undefined && fromEndpoints !== undefined) {
        ctx.warnings.push(warningAt(fromEndpoints.ref, [], `Service ${key(source.namespace, source.name)} also has EndpointSlices; these Endpoints are not used (EndpointSlices are read first, as Istio does)`));
      }
      const selector = kubeSpec.selector ?? {};
      const selected = Object.keys(selector).length > 0
        ? [...pods.values()].filter((p) => p.source.namespace === source.namespace && Object.entries(selector).every(([k, v]) => p.labels[k] === v))
        : [];
      if (fromSlices !== undefined) workloads = sliceWorkloads(fromSlices, ports, pods, ctx);
      else if (fromEndpoints !== undefined) workloads = endpointsWorkloads(fromEndpoints, ports, pods);
      else if (selected.length > 0) workloads = podWorkloads(selected, kubeSpec.ports ?? [], ports);
      // From an API server: a Service whose endpoints the controllers have not made (yet) is
      // served with none, as istiod does (a request gets 503 no healthy upstream, not 404 NR).
      else if (source.live === true) workloads = [];
      else {
        ctx.warnings.push(warningAt(source.ref, [], `v1 Service skipped: wasmesh runs without Kubernetes and nothing gives this Service endpoints: add an EndpointSlice (discovery.k8s.io/v1, labelled ${SERVICE_NAME_LABEL}: ${source.name}) or an Endpoints ${source.name} with the instances' addresses${Object.keys(selector).length > 0 ? ', or Pods its selector matches with status.podIP' : ''}; or describe it with ServiceEntry and WorkloadEntry`));
        continue;
      }
      // A headless Service (clusterIP: None) has no virtual IP: Istio passes each connection to
      // the pod the client resolved. Without cluster DNS here the proxy balances over the same
      // ready endpoints instead (docs/kubernetes.md).
      spec = { hosts: [host], ports, location: 'MESH_INTERNAL', resolution: 'STATIC' };
    }
    if (ports.length === 0) {
      ctx.warnings.push(warningAt(source.ref, ['spec', 'ports'], 'the Service has no TCP port: nothing routes to it'));
      continue;
    }
    services.set(host, { host, namespace: source.namespace, source: { kind: 'Service', name: source.name, file: source.file }, spec, ports, workloads });
  }
}

/** The Service's TCP ports as ServiceEntry ports (UDP and SCTP are not proxied: warned, left out). */
function servicePorts(source: KubeSourced, list: readonly KubeServicePort[], ctx: RegistryContext): ServicePortSpec[] {
  const out: ServicePortSpec[] = [];
  list.forEach((p: KubeServicePort, i) => {
    if (p.protocol !== undefined && p.protocol !== 'TCP') {
      ctx.warnings.push(warningAt(source.ref, ['spec', 'ports', i, 'protocol'], `${p.protocol} ports are not proxied; port ${p.port} skipped`));
      return;
    }
    if (list.length > 1 && (p.name === undefined || p.name === '')) {
      // The API server requires it too: endpoints name the port they serve.
      ctx.issues.push(issueAt(source.ref, 'missing_field', ['spec', 'ports', i, 'name'], 'a Service with several ports must name each one'));
      return;
    }
    const appProtocol = p.appProtocol === undefined ? undefined : (KUBERNETES_APP_PROTOCOLS[p.appProtocol] ?? p.appProtocol);
    out.push({
      number: p.port,
      name: p.name ?? '',
      ...(appProtocol !== undefined ? { protocol: appProtocol } : {}),
      ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
    });
  });
  return out;
}

/** Pods that have an address (status.podIP); the others are left out with a warning saying so. */
function podsOf(objects: readonly KubeSourced[], ctx: RegistryContext): Map<string, PodInfo> {
  const out = new Map<string, PodInfo>();
  for (const source of objects) {
    const pod = source.object as KubePod;
    const ip = pod.status?.podIP;
    if (ip === undefined || ip === '') {
      // From an API server a Pod has no IP until a kubelet runs it (Pending): nothing to say.
      if (source.live === true) continue;
      ctx.warnings.push(warningAt(source.ref, ['status', 'podIP'], 'v1 Pod skipped: it has no address without Kubernetes; add status.podIP (the address it listens on) so Services that select it route to it'));
      continue;
    }
    const readyCondition = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const ready = (pod.status?.phase === undefined || pod.status.phase === 'Running') && readyCondition?.status !== 'False';
    const namedPorts = new Map<string, number>();
    const containers = (pod.spec as { containers?: Array<{ ports?: Array<{ name?: unknown; containerPort?: unknown }> }> } | undefined)?.containers ?? [];
    for (const c of containers) for (const p of c.ports ?? []) if (typeof p.name === 'string' && typeof p.containerPort === 'number') namedPorts.set(p.name, p.containerPort);
    // Kubernetes runs a pod that names no service account as `default`.
    const sa = (pod.spec as { serviceAccountName?: unknown } | undefined)?.serviceAccountName;
    const spiffeId = `spiffe://${ctx.trustDomain ?? 'cluster.local'}/ns/${source.namespace}/sa/${typeof sa === 'string' && sa !== '' ? sa : 'default'}`;
    out.set(key(source.namespace, source.name), { source, labels: pod.metadata.labels ?? {}, ip, ready, namedPorts, spiffeId });
  }
  return out;
}

/**
 * What the Pod an endpoint names (targetRef) gives it: its labels, so DestinationRule subsets
 * select it, and its service account's identity. Nothing when the Pod is not loaded.
 */
function fromTargetPod(namespace: string, ref: { kind?: string | undefined; name?: string | undefined; namespace?: string | undefined } | undefined, pods: ReadonlyMap<string, PodInfo>): { labels: Record<string, string>; spiffeId?: string } {
  if (ref === undefined || (ref.kind !== undefined && ref.kind !== 'Pod') || ref.name === undefined) return { labels: {} };
  const pod = pods.get(key(ref.namespace ?? namespace, ref.name));
  return pod === undefined ? { labels: {} } : { labels: { ...pod.labels }, spiffeId: pod.spiffeId };
}

function sliceWorkloads(slices: readonly KubeSourced[], ports: readonly ServicePortSpec[], pods: ReadonlyMap<string, PodInfo>, ctx: RegistryContext): Workload[] {
  const out: Workload[] = [];
  for (const source of slices) {
    const slice = source.object as KubeEndpointSlice;
    if (slice.addressType === 'FQDN') {
      ctx.warnings.push(warningAt(source.ref, ['addressType'], 'FQDN EndpointSlices are not served yet (Istio ignores them too); its endpoints are not used'));
      continue;
    }
    // The slice's port for each service port: the one of the same name ('' for an unnamed port).
    const byName: Record<string, number> = {};
    for (const p of slice.ports ?? []) if (typeof p.port === 'number') byName[p.name ?? ''] = p.port;
    const portMap: Record<string, number> = {};
    for (const sp of ports) if (byName[sp.name] !== undefined) portMap[sp.name] = byName[sp.name]!;
    (slice.endpoints ?? []).forEach((ep, i) => {
      // Only ready endpoints take traffic; ready unset (null) means unknown, which is ready.
      if (ep.conditions?.ready === false) return;
      out.push({ address: ep.addresses[0]!, ports: portMap, ...fromTargetPod(source.namespace, ep.targetRef, pods), weight: 0, ref: source.ref, path: ['endpoints', i] });
    });
  }
  return out;
}

function endpointsWorkloads(source: KubeSourced, ports: readonly ServicePortSpec[], pods: ReadonlyMap<string, PodInfo>): Workload[] {
  const out: Workload[] = [];
  ((source.object as KubeEndpoints).subsets ?? []).forEach((subset, s) => {
    const byName: Record<string, number> = {};
    for (const p of subset.ports ?? []) byName[p.name ?? ''] = p.port;
    const portMap: Record<string, number> = {};
    for (const sp of ports) if (byName[sp.name] !== undefined) portMap[sp.name] = byName[sp.name]!;
    // notReadyAddresses take no traffic.
    (subset.addresses ?? []).forEach((a, i) => {
      out.push({ address: a.ip, ports: portMap, ...fromTargetPod(source.namespace, a.targetRef, pods), weight: 0, ref: source.ref, path: ['subsets', s, 'addresses', i] });
    });
  });
  return out;
}

/** The endpoints controller's work, for Pods given with an address: the ready ones the selector matches. */
function podWorkloads(pods: readonly PodInfo[], kubePorts: readonly KubeServicePort[], ports: readonly ServicePortSpec[]): Workload[] {
  const out: Workload[] = [];
  for (const pod of [...pods].sort((a, b) => (a.source.name < b.source.name ? -1 : 1))) {
    if (!pod.ready) continue;
    const portMap: Record<string, number> = {};
    for (const sp of ports) {
      const target = kubePorts.find((p) => p.port === sp.number)?.targetPort;
      if (typeof target === 'string') {
        const named = pod.namedPorts.get(target);
        if (named !== undefined) portMap[sp.name] = named;
      }
    }
    out.push({ address: pod.ip, ports: portMap, labels: { ...pod.labels }, spiffeId: pod.spiffeId, weight: 0, ref: pod.source.ref, path: ['status', 'podIP'] });
  }
  return out;
}
