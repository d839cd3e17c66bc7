// Who a proxy is, from the Node it sends on its first xDS request, as istiod reads it: the node id
// `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` (type `sidecar` or `router`) and
// the metadata Istio's agent sets (NAMESPACE, LABELS, CLUSTER_ID, SERVICE_ACCOUNT, …), plus
// wasmesh's own keys (WASMESH_GATEWAY: serve this Gateway by name, as `--gateway` does;
// WASMESH_LISTEN: an Envoy's one listen address, as `--listen` is a wasmesh proxy's;
// WASMESH_APP_PORTS and WASMESH_INBOUND: an Envoy sidecar's app ports and inbound address, as a
// wasmesh sidecar's `--app-ports` and `--inbound`).
import { parseHostPort, type HostPort } from '../common/host-port.js';
import { workloadMetadata, type WorkloadMetadata } from '../model/workload-metadata.js';
import { ipFamiliesOf, type IpFamilies } from '../model/ip-families.js';
import { isInstanceIp, parseInstanceIps } from '../common/instance-ips.js';

export type ProxyType = 'sidecar' | 'router';

/** The client kind: what resources it is given. */
export type ClientKind = 'envoy' | 'wasmesh' | 'grpc';

export interface XdsNode {
  /** The node id as sent. */
  id: string;
  type: ProxyType;
  ip: string;
  /** Pod (or workload) name, and its namespace. */
  pod: string;
  namespace: string;
  labels: Record<string, string>;
  clusterId: string;
  serviceAccount: string;
  /** Istio's WORKLOAD_NAME; the pod name when the node sends none (optional: nodes built by hand may leave it out). */
  workloadName?: string;
  /** `--gateway` of a wasmesh proxy or an explicit WASMESH_GATEWAY: serve this Gateway, whatever its selector. */
  gateway: string | null;
  /**
   * WASMESH_LISTEN (`envoy-bootstrap --listen`): the address an Envoy's listener takes instead
   * of its Gateway's server ports (or a sidecar's 15001), as a Service's targetPort would map them.
   */
  listen: HostPort | null;
  /** WASMESH_APP_PORTS (`envoy-bootstrap --app-ports`): an Envoy sidecar's app ports, its inbound listener's destinations; empty: no inbound. */
  appPorts: number[];
  /** WASMESH_INBOUND (`envoy-bootstrap --inbound`): where an Envoy sidecar's inbound listener binds (default 0.0.0.0:15006). */
  inbound: HostPort | null;
  kind: ClientKind;
  /**
   * Istio's INTERCEPTION_MODE (`envoy-bootstrap --interception-mode`): how iptables sends a
   * sidecar its traffic; TPROXY makes an Envoy sidecar's capture listener transparent. Absent: REDIRECT.
   */
  interceptionMode?: 'REDIRECT' | 'TPROXY' | 'NONE';
  /**
   * The pod's IP families (Istio's IP mode): of metadata INSTANCE_IPS's valid entries, else of the
   * node id's address, as istiod's ParseServiceNodeWithMetadata prefers the metadata and falls back
   * to the node id: an Envoy sidecar's wildcards and app loopback (host/model/ip-families.ts).
   * Absent (nodes built by hand): IPv4.
   */
  ipFamilies?: IpFamilies;
  /**
   * INSTANCE_IPS entries left out, each with why (host/common/instance-ips.ts, as the sidecar
   * reads its own INSTANCE_IPS); the control plane warns of them when the proxy connects.
   * (istiod drops the whole list over one bad entry; wasmesh keeps the good ones, as the sidecar does.)
   */
  instanceIpsSkipped?: readonly string[];
  /** Every metadata key as plain JSON (for /debug/syncz). */
  metadata: Record<string, unknown>;
}

export class XdsNodeError extends Error {
  readonly code = 'XDS_NODE_INVALID';
  constructor(detail: string) {
    super(`xDS node: ${detail} (XDS_NODE_INVALID)`);
    this.name = 'XdsNodeError';
  }
}

/** google.protobuf.Struct as protobufjs decodes it → plain JSON. */
export function structToJson(s: unknown): Record<string, unknown> {
  const fields = (s as { fields?: Record<string, unknown> } | null | undefined)?.fields ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

/**
 * One google.protobuf.Value, decoded without defaults (only the member that is set is present;
 * protobufjs's bundled struct.proto names the members in camelCase).
 */
function valueToJson(v: unknown): unknown {
  const x = (v ?? {}) as Record<string, unknown>;
  if ('structValue' in x) return structToJson(x.structValue);
  if ('listValue' in x) return ((x.listValue as { values?: unknown[] }).values ?? []).map(valueToJson);
  if ('stringValue' in x) return x.stringValue;
  if ('numberValue' in x) return x.numberValue;
  if ('boolValue' in x) return x.boolValue;
  return null;
}

const ID = /^(sidecar|router)~([^~]*)~([^~]*)~([^~]*)$/;

/** Reads the decoded Node of a first request; throws XdsNodeError for an id that is not Istio's. */
export function readNode(node: unknown): XdsNode {
  const n = (node ?? {}) as { id?: string; cluster?: string; metadata?: unknown; user_agent_name?: string };
  const id = n.id ?? '';
  if (id === '') throw new XdsNodeError('the first request has no node id');
  const m = ID.exec(id);
  if (!m) throw new XdsNodeError(`node id ${JSON.stringify(id)} is not <sidecar|router>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`);
  const metadata = structToJson(n.metadata);
  const podDotNs = m[3]!;
  const dot = podDotNs.lastIndexOf('.');
  const namespace = typeof metadata.NAMESPACE === 'string' && metadata.NAMESPACE !== '' ? metadata.NAMESPACE : dot > 0 ? podDotNs.slice(dot + 1) : 'default';
  const labels: Record<string, string> = {};
  if (metadata.LABELS && typeof metadata.LABELS === 'object') {
    for (const [k, v] of Object.entries(metadata.LABELS as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  let listen: HostPort | null = null;
  if (metadata.WASMESH_LISTEN !== undefined) {
    if (typeof metadata.WASMESH_LISTEN !== 'string') throw new XdsNodeError(`metadata WASMESH_LISTEN: expected a "host:port" string, got ${JSON.stringify(metadata.WASMESH_LISTEN)}`);
    try {
      listen = parseHostPort(metadata.WASMESH_LISTEN);
    } catch (err) {
      throw new XdsNodeError(`metadata WASMESH_LISTEN: ${(err as Error).message}`);
    }
  }
  const inbound = metadata.WASMESH_INBOUND === undefined ? null : hostPortKey(metadata.WASMESH_INBOUND, 'WASMESH_INBOUND');
  const appPorts = metadata.WASMESH_APP_PORTS === undefined ? [] : appPortsKey(metadata.WASMESH_APP_PORTS);
  const mode = metadata.INTERCEPTION_MODE;
  if (mode !== undefined && mode !== 'REDIRECT' && mode !== 'TPROXY' && mode !== 'NONE') throw new XdsNodeError(`metadata INTERCEPTION_MODE: expected REDIRECT, TPROXY or NONE, got ${JSON.stringify(mode)}`);
  const generator = typeof metadata.GENERATOR === 'string' ? metadata.GENERATOR : '';
  const agent = n.user_agent_name ?? '';
  const kind: ClientKind =
    typeof metadata.WASMESH === 'string' || generator === 'wasmesh' ? 'wasmesh'
    : generator === 'grpc' || /^grpc/i.test(agent) ? 'grpc'
    : 'envoy';
  return {
    id,
    type: m[1] as ProxyType,
    ip: m[2]!,
    pod: dot > 0 ? podDotNs.slice(0, dot) : podDotNs,
    namespace,
    labels,
    clusterId: typeof metadata.CLUSTER_ID === 'string' ? metadata.CLUSTER_ID : 'Kubernetes',
    serviceAccount: typeof metadata.SERVICE_ACCOUNT === 'string' ? metadata.SERVICE_ACCOUNT : 'default',
    workloadName: typeof metadata.WORKLOAD_NAME === 'string' && metadata.WORKLOAD_NAME !== '' ? metadata.WORKLOAD_NAME : (dot > 0 ? podDotNs.slice(0, dot) : podDotNs),
    gateway: typeof metadata.WASMESH_GATEWAY === 'string' && metadata.WASMESH_GATEWAY !== '' ? metadata.WASMESH_GATEWAY : null,
    listen,
    appPorts,
    inbound,
    kind,
    ...(mode !== undefined ? { interceptionMode: mode } : {}),
    ...nodeAddresses(m[2]!, metadata.INSTANCE_IPS),
    metadata,
  };
}

/** The families of INSTANCE_IPS's valid entries, else of the node id's address (none: IPv4), and what was skipped. */
function nodeAddresses(idIp: string, instanceIps: unknown): { ipFamilies: IpFamilies; instanceIpsSkipped?: readonly string[] } {
  const listed = typeof instanceIps === 'string' ? parseInstanceIps(instanceIps) : { addresses: [], skipped: [] };
  const addresses = listed.addresses.length > 0 ? listed.addresses : isInstanceIp(idIp) ? [idIp] : [];
  return { ipFamilies: ipFamiliesOf(addresses), ...(listed.skipped.length > 0 ? { instanceIpsSkipped: listed.skipped } : {}) };
}

function hostPortKey(v: unknown, key: string): HostPort {
  if (typeof v !== 'string') throw new XdsNodeError(`metadata ${key}: expected a "host:port" string, got ${JSON.stringify(v)}`);
  try {
    return parseHostPort(v);
  } catch (err) {
    throw new XdsNodeError(`metadata ${key}: ${(err as Error).message}`);
  }
}

/** "5005,8080" → [5005, 8080]: each 1-65535, distinct. */
function appPortsKey(v: unknown): number[] {
  if (typeof v !== 'string') throw new XdsNodeError(`metadata WASMESH_APP_PORTS: expected a "port,port…" string, got ${JSON.stringify(v)}`);
  const ports: number[] = [];
  for (const part of v.split(',')) {
    const p = Number(part.trim());
    if (!/^\d+$/.test(part.trim()) || p < 1 || p > 65535) throw new XdsNodeError(`metadata WASMESH_APP_PORTS: "${part}" is not a port 1-65535`);
    if (ports.includes(p)) throw new XdsNodeError(`metadata WASMESH_APP_PORTS: ${p} is given twice`);
    ports.push(p);
  }
  return ports;
}

/** Istio's node id for a proxy (what `wasmesh envoy-bootstrap` and the wasmesh xDS client send). */
export function nodeId(type: ProxyType, ip: string, pod: string, namespace: string): string {
  return `${type}~${ip}~${pod}.${namespace}~${namespace}.svc.cluster.local`;
}

/**
 * The workload a node names (its WorkloadMetadata, as the proxy itself builds it from its
 * flags): for the control plane's view of a proxy, and a proxy configured from its node.
 */
export function nodeWorkload(node: XdsNode, trustDomain = 'cluster.local'): WorkloadMetadata {
  return workloadMetadata({
    name: node.workloadName ?? node.pod,
    namespace: node.namespace,
    labels: node.labels,
    cluster: node.clusterId,
    meshId: typeof node.metadata.MESH_ID === 'string' ? node.metadata.MESH_ID : trustDomain,
    principal: `spiffe://${trustDomain}/ns/${node.namespace}/sa/${node.serviceAccount}`,
    nodeId: node.id,
    instanceIp: node.ip,
  });
}
