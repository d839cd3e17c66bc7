// Istio's HTTP metadata exchange: a proxy tells its peer who its workload is in two headers,
// `x-envoy-peer-metadata-id` (its node id) and `x-envoy-peer-metadata` (base64 of a serialized
// google.protobuf.Struct of its node metadata, the keys Istio's agent sets: NAME, NAMESPACE,
// LABELS, CLUSTER_ID, WORKLOAD_NAME, OWNER, MESH_ID, SERVICE_ACCOUNT, INSTANCE_IPS,
// APP_CONTAINERS). The Struct is encoded and decoded by protobufjs from
// google/protobuf/struct.proto, never by hand. Decoding caches by header value: a proxy sees
// the same few peers again and again, and each is decoded once.
import protobuf from 'protobufjs';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import type { HeaderOps } from '../model/mesh.js';
import { peerWorkloadLabels, type WorkloadLabels } from './istio-labels.js';

export const PEER_METADATA = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID = 'x-envoy-peer-metadata-id';

const STRUCT = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!).lookupType('google.protobuf.Struct');

/** A google.protobuf.Value as protobufjs's JSON form has it. */
export type PeerValue = { stringValue?: string; structValue?: { fields?: Record<string, PeerValue> }; listValue?: { values?: PeerValue[] } };
type Value = PeerValue;

function str(s: string): Value {
  return { stringValue: s };
}

/** The service account of a SPIFFE ID `spiffe://<td>/ns/<ns>/sa/<sa>`, or null. */
function serviceAccountOf(principal: string | null): string | null {
  if (principal === null) return null;
  const m = /\/sa\/([^/]+)$/.exec(principal);
  return m ? m[1]! : null;
}

/** The pod name of an Istio node id `<type>~<ip>~<pod>.<ns>~<ns>.svc.<domain>`, or null. */
function podOf(nodeId: string, namespace: string): string | null {
  const part = nodeId.split('~')[2];
  if (part === undefined) return null;
  const suffix = '.' + namespace;
  return part.endsWith(suffix) ? part.slice(0, -suffix.length) : part;
}

/** The fields of this workload's node metadata Struct, as `google.protobuf.Struct` JSON for protobufjs. */
export function peerMetadataFields(w: WorkloadMetadata): Record<string, PeerValue> {
  const labels: Record<string, PeerValue> = {};
  for (const [k, v] of Object.entries(w.labels)) labels[k] = str(v);
  const fields: Record<string, PeerValue> = {
    NAME: str(podOf(w.nodeId, w.namespace) ?? w.name),
    NAMESPACE: str(w.namespace),
    LABELS: { structValue: { fields: labels } },
    CLUSTER_ID: str(w.cluster),
    WORKLOAD_NAME: str(w.name),
    OWNER: str(`kubernetes://apis/apps/v1/namespaces/${w.namespace}/deployments/${w.name}`),
    MESH_ID: str(w.meshId),
    APP_CONTAINERS: str(w.labels['app'] ?? w.name),
  };
  if (w.instanceIp !== 'unknown') fields['INSTANCE_IPS'] = str(w.instanceIp);
  const sa = serviceAccountOf(w.principal);
  if (sa !== null) fields['SERVICE_ACCOUNT'] = str(sa);
  return fields;
}

/** The `x-envoy-peer-metadata` value of this workload (computed once per proxy). */
export function encodePeerMetadata(w: WorkloadMetadata): string {
  const bytes = STRUCT.encode(STRUCT.fromObject({ fields: peerMetadataFields(w) })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * The request edits that carry this workload's metadata to a mesh destination (`outbound|…`
 * clusters only: a passthrough or external destination learns nothing of the workload). Applied
 * by the core with the route's own edits, last, so no per-request work is added.
 */
export function peerMetadataRequestOps(id: string, metadata: string): HeaderOps {
  return { remove: [], set: [[PEER_METADATA_ID, id], [PEER_METADATA, metadata]], add: [] };
}

/** Whether a cluster is a mesh service's (Istio's `outbound|<port>|<subset>|<host>`), which gets the metadata. */
export function isMeshCluster(cluster: string): boolean {
  return cluster.startsWith('outbound|');
}

/** The decoded fields of a peer's metadata that the metrics read. */
export interface PeerMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly workloadName?: string;
  readonly cluster?: string;
  readonly labels: Record<string, string>;
}

/** Decodes an `x-envoy-peer-metadata` value; null when it is not base64 of a Struct (the peer is then unknown). */
export function decodePeerMetadata(value: string): PeerMetadata | null {
  if (value === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
  let decoded: { fields?: Record<string, Value> };
  try {
    decoded = STRUCT.toObject(STRUCT.decode(Buffer.from(value, 'base64'))) as { fields?: Record<string, Value> };
  } catch {
    return null;
  }
  return peerMetadataOf(decoded.fields ?? {});
}

/** The fields the metrics read from a node metadata Struct's fields (HTTP's header or TCP's exchange). */
export function peerMetadataOf(f: Record<string, Value>): PeerMetadata {
  const s = (k: string): string | undefined => {
    const v = f[k]?.stringValue;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(f['LABELS']?.structValue?.fields ?? {})) if (typeof v.stringValue === 'string') labels[k] = v.stringValue;
  return { name: s('NAME'), namespace: s('NAMESPACE'), workloadName: s('WORKLOAD_NAME'), cluster: s('CLUSTER_ID'), labels };
}

/** The istio_* labels of a peer from its decoded metadata. */
export function peerLabelsOf(m: PeerMetadata): WorkloadLabels {
  return peerWorkloadLabels({ name: m.workloadName ?? m.name, namespace: m.namespace, labels: m.labels, cluster: m.cluster });
}

/** Bounded: peers' metadata values are few; a flood of distinct (hostile) values cannot grow it. */
const MAX_CACHED = 1024;

/** Peer metadata header values → the peer's workload labels, decoded once each. */
export class PeerCache {
  readonly #byValue = new Map<string, WorkloadLabels | null>();

  /** The peer's labels, or null when the value does not decode (the peer is unknown). */
  labelsOf(value: string): WorkloadLabels | null {
    let labels = this.#byValue.get(value);
    if (labels !== undefined) return labels;
    const m = decodePeerMetadata(value);
    labels = m === null ? null : peerLabelsOf(m);
    if (this.#byValue.size >= MAX_CACHED) this.#byValue.clear();
    this.#byValue.set(value, labels);
    return labels;
  }
}
