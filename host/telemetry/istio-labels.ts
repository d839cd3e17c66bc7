// The label values of Istio's standard metrics, in the pieces that change at different rates:
// a workload's (this proxy's own, or a peer's as its peer metadata tells), a destination
// service's (per cluster or authority), and the per-request rest (code, flags, security
// policy). Each piece renders its part of the label set once, when it is first seen, so a
// request only looks up a cached series (istio-metrics.ts).
import { UNKNOWN, workloadMetadata, type WorkloadMetadata } from '../model/workload-metadata.js';

/** Which side reports: `source` on a sidecar's outbound and on gateways, `destination` on a sidecar's inbound. */
export type Reporter = 'source' | 'destination';

/** A workload's label values, as its side of the labels (source_* or destination_*) shows them. */
export interface WorkloadLabels {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
}

/** A peer nothing is known of: every label `unknown`, as Istio writes them. */
export const UNKNOWN_WORKLOAD: WorkloadLabels = {
  workload: UNKNOWN, namespace: UNKNOWN, app: UNKNOWN, version: UNKNOWN, canonicalService: UNKNOWN, canonicalRevision: UNKNOWN, cluster: UNKNOWN,
};

export function workloadLabelsOf(w: WorkloadMetadata): WorkloadLabels {
  return { workload: w.name, namespace: w.namespace, app: w.app, version: w.version, canonicalService: w.canonicalService, canonicalRevision: w.canonicalRevision, cluster: w.cluster };
}

/** The labels of a peer from the fields of its peer metadata (WORKLOAD_NAME, NAMESPACE, LABELS, CLUSTER_ID). */
export function peerWorkloadLabels(fields: { name?: string; namespace?: string; labels?: Record<string, string>; cluster?: string }): WorkloadLabels {
  // Istio's canonical service/revision fallbacks, as for this proxy's own metadata; a peer that
  // names no namespace or cluster is `unknown` there (not this proxy's defaults).
  const w = workloadMetadata({ name: fields.name ?? UNKNOWN, namespace: fields.namespace ?? UNKNOWN, labels: fields.labels ?? {}, cluster: fields.cluster ?? UNKNOWN });
  return workloadLabelsOf(w);
}

/** destination_service, _name, _namespace. */
export interface ServiceLabels {
  readonly service: string;
  readonly name: string;
  readonly namespace: string;
}

export const UNKNOWN_SERVICE: ServiceLabels = { service: UNKNOWN, name: UNKNOWN, namespace: UNKNOWN };

/**
 * The destination service of a host: `<name>.<namespace>.svc.<domain>` gives its name and
 * namespace; another host is its own name, in `namespace` (the inbound side's own namespace) or
 * `unknown` (Istio's values for a host that is no Kubernetes service).
 */
export function serviceOfHost(host: string, namespace: string = UNKNOWN): ServiceLabels {
  if (host === '') return UNKNOWN_SERVICE;
  const h = host.toLowerCase();
  const parts = h.split('.');
  if (parts.length >= 3 && parts[2] === 'svc') return { service: h, name: parts[0]!, namespace: parts[1]! };
  return { service: h, name: h, namespace };
}

/**
 * The destination service of an outbound cluster: Istio's `outbound|<port>|<subset>|<host>`
 * names its host; the passthrough and blackhole clusters are their own service (Istio's
 * `PassthroughCluster`, `BlackHoleCluster`); null for another name (the caller falls back to the authority).
 */
export function serviceOfCluster(cluster: string): ServiceLabels | null {
  if (cluster.startsWith('outbound|')) {
    const host = cluster.slice(cluster.lastIndexOf('|') + 1);
    return serviceOfHost(host);
  }
  if (cluster === 'PassthroughCluster' || cluster === 'BlackHoleCluster') return { service: cluster, name: cluster, namespace: UNKNOWN };
  // Istio's inbound passthrough: no service, the cluster as its name (destination_service "unknown").
  if (cluster === 'InboundPassthroughCluster') return { service: UNKNOWN, name: cluster, namespace: UNKNOWN };
  return null;
}

/** The authority without its port (and without IPv6 brackets' port). */
export function hostOfAuthority(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/** A label value escaped for the Prometheus text format (backslash, quote, newline). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function side(prefix: 'source' | 'destination', w: WorkloadLabels, principal: string): string {
  const p = prefix;
  return `${p}_workload="${escapeLabel(w.workload)}",${p}_canonical_service="${escapeLabel(w.canonicalService)}",` +
    `${p}_canonical_revision="${escapeLabel(w.canonicalRevision)}",${p}_workload_namespace="${escapeLabel(w.namespace)}",` +
    `${p}_principal="${escapeLabel(principal)}",${p}_app="${escapeLabel(w.app)}",${p}_version="${escapeLabel(w.version)}",` +
    `${p}_cluster="${escapeLabel(w.cluster)}"`;
}

/** Everything one series is labelled with. */
export interface SeriesKey {
  readonly reporter: Reporter;
  readonly source: WorkloadLabels;
  readonly sourcePrincipal: string;
  readonly destination: WorkloadLabels;
  readonly destinationPrincipal: string;
  readonly service: ServiceLabels;
  readonly responseCode: number;
  /** GRPC_NOT (an HTTP request), GRPC_NO_STATUS (gRPC, no status known), or the gRPC status. */
  readonly grpcStatus: number;
  readonly responseFlags: string;
  readonly connectionSecurityPolicy: string;
}

/** SeriesKey.grpcStatus of a request that is not gRPC: request_protocol `http`. */
export const GRPC_NOT = -2;
/** SeriesKey.grpcStatus of a gRPC request whose status is unknown: grpc_response_status empty. */
export const GRPC_NO_STATUS = -1;

/**
 * The label set of a series, in Istio's order (its stats plugin's tag list): request_protocol
 * `grpc` for a gRPC request (`http` otherwise), grpc_response_status its status as a number
 * (empty for HTTP, and for gRPC without one), as Istio's stats filter writes them.
 */
export function renderLabels(k: SeriesKey): string {
  const grpc = k.grpcStatus !== GRPC_NOT;
  return `reporter="${k.reporter}",${side('source', k.source, k.sourcePrincipal)},` +
    `${side('destination', k.destination, k.destinationPrincipal)},` +
    `destination_service="${escapeLabel(k.service.service)}",destination_service_name="${escapeLabel(k.service.name)}",` +
    `destination_service_namespace="${escapeLabel(k.service.namespace)}",request_protocol="${grpc ? 'grpc' : 'http'}",` +
    `response_code="${k.responseCode}",grpc_response_status="${k.grpcStatus >= 0 ? k.grpcStatus : ''}",response_flags="${escapeLabel(k.responseFlags)}",` +
    `connection_security_policy="${k.connectionSecurityPolicy}"`;
}

/**
 * The label set of a TCP series (istio_tcp_*): Istio's TCP tags, request_protocol `tcp`, no
 * response_code or grpc_response_status (a byte stream has neither).
 */
export function renderTcpLabels(k: Omit<SeriesKey, 'responseCode' | 'grpcStatus'>): string {
  return `reporter="${k.reporter}",${side('source', k.source, k.sourcePrincipal)},` +
    `${side('destination', k.destination, k.destinationPrincipal)},` +
    `destination_service="${escapeLabel(k.service.service)}",destination_service_name="${escapeLabel(k.service.name)}",` +
    `destination_service_namespace="${escapeLabel(k.service.namespace)}",request_protocol="tcp",` +
    `response_flags="${escapeLabel(k.responseFlags)}",connection_security_policy="${k.connectionSecurityPolicy}"`;
}
