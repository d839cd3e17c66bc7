// Who this proxy's workload is, as Istio's telemetry names it: the fields of its peer metadata
// (the `x-envoy-peer-metadata` exchange), the labels of the `istio_*` metrics (source_* or
// destination_*) and the tags of its spans (node_id, istio.canonical_service, istio.mesh_id).
// Built once per proxy from what its command line or xDS node says; `unknown` where nothing does,
// as Istio writes it for a peer it does not know.

/** Istio's value for a label it cannot fill. */
export const UNKNOWN = 'unknown';

export interface WorkloadMetadata {
  /** The workload (Deployment) name: Istio's WORKLOAD_NAME; `unknown` when not given. */
  readonly name: string;
  readonly namespace: string;
  /** The workload's pod labels (app, version, service.istio.io/canonical-*, …). */
  readonly labels: Readonly<Record<string, string>>;
  /** Istio's canonical service: label service.istio.io/canonical-name, else app.kubernetes.io/name, else app, else the workload name. */
  readonly canonicalService: string;
  /** service.istio.io/canonical-revision, else app.kubernetes.io/version, else version, else `latest`. */
  readonly canonicalRevision: string;
  /** The `app` label (Istio's source_app / destination_app), `unknown` when absent. */
  readonly app: string;
  /** The `version` label, `unknown` when absent. */
  readonly version: string;
  /** Istio's CLUSTER_ID (default `Kubernetes`). */
  readonly cluster: string;
  /** meshConfig trustDomain-derived mesh id (Istio's default `cluster.local`). */
  readonly meshId: string;
  /** The workload's SPIFFE ID when it has a workload certificate, else null. */
  readonly principal: string | null;
  /** The proxy's node id (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`), as Envoy's node_id span tag. */
  readonly nodeId: string;
  /** The instance address (pod IP), `unknown` when not known. */
  readonly instanceIp: string;
}

export interface WorkloadMetadataInput {
  name?: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
  cluster?: string;
  meshId?: string;
  principal?: string | null;
  nodeId?: string;
  instanceIp?: string;
}

/** The metadata of a workload from what is known about it, Istio's defaults for the rest. */
export function workloadMetadata(input: WorkloadMetadataInput): WorkloadMetadata {
  const labels = input.labels ?? {};
  const name = input.name ?? UNKNOWN;
  const namespace = input.namespace ?? 'default';
  const canonicalService = labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? name;
  const canonicalRevision = labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest';
  const instanceIp = input.instanceIp ?? UNKNOWN;
  return {
    name,
    namespace,
    labels,
    canonicalService,
    canonicalRevision,
    app: labels['app'] ?? UNKNOWN,
    version: labels['version'] ?? UNKNOWN,
    cluster: input.cluster ?? 'Kubernetes',
    meshId: input.meshId ?? 'cluster.local',
    principal: input.principal ?? null,
    nodeId: input.nodeId ?? `sidecar~${instanceIp}~${name}.${namespace}~${namespace}.svc.cluster.local`,
    instanceIp,
  };
}
