// A Kubernetes object as wasmesh writes it (install's manifests): apiVersion, kind, metadata
// (name, namespace when namespaced, labels) and the rest of its fields as JSON.
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `Kind namespace/name`, or `Kind name` for a cluster-scoped object: how install reports it. */
export function objectRef(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace !== undefined ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
