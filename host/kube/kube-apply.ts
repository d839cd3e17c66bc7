// Server-side apply of wasmesh's own objects (`wasmesh install`), one PATCH
// `application/apply-patch+yaml` each under the field manager `wasmesh-install`, as `kubectl apply
// --server-side --force-conflicts` does. Server-side, because the CRDs are larger than client-side
// apply's last-applied annotation allows, and because a field install does not set (the webhook's
// caBundle when the control plane patches it) stays with whoever set it. The outcome per object
// (created, configured, unchanged) is read from the resourceVersion before and after — the API
// server does not write an apply that changes nothing — and, for a dry run (which writes nothing,
// so the version stays), from the object before and as it would be, managed fields and status aside.
import { KubeApi, KubeApiError } from './kube-api.js';
import { objectRef, type KubeObject } from './kube-object.js';

export const FIELD_MANAGER = 'wasmesh-install';

/** The plural and scope of each kind install writes (no discovery round trip for a fixed set). */
const RESOURCES: Readonly<Record<string, { plural: string; namespaced: boolean }>> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  MutatingWebhookConfiguration: { plural: 'mutatingwebhookconfigurations', namespaced: false },
};

/** The object's URL path: /api/v1/… for the core group, /apis/<group>/<version>/… otherwise. */
export function objectPath(o: KubeObject): string {
  const r = RESOURCES[o.kind];
  if (r === undefined) throw new Error(`${objectRef(o)}: install does not know where ${o.kind} objects live`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = o.metadata.namespace;
  if (r.namespaced && ns === undefined) throw new Error(`${objectRef(o)}: a ${o.kind} needs a namespace`);
  return `${base}${r.namespaced ? `/namespaces/${encodeURIComponent(ns!)}` : ''}/${r.plural}/${encodeURIComponent(o.metadata.name)}`;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  ref: string;
  outcome: ApplyOutcome;
}

/** Applies `o`; with `dryRun` the API server validates and admits it but stores nothing. */
export async function serverSideApply(api: KubeApi, o: KubeObject, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> {
  const path = objectPath(o);
  let before: Record<string, unknown> | null = null;
  try {
    before = await api.getJson(path);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  const query = `fieldManager=${FIELD_MANAGER}&force=true${opts.dryRun === true ? '&dryRun=All' : ''}`;
  // Sent as JSON, which is YAML: the apply-patch content type takes it as it is.
  const after = await api.send('PATCH', `${path}?${query}`, o, 'application/apply-patch+yaml');
  let outcome: ApplyOutcome;
  if (before === null) outcome = 'created';
  else if (opts.dryRun === true) outcome = JSON.stringify(comparable(before)) === JSON.stringify(comparable(after)) ? 'unchanged' : 'configured';
  else outcome = resourceVersion(before) === resourceVersion(after) ? 'unchanged' : 'configured';
  return { ref: objectRef(o), outcome };
}

function resourceVersion(o: Record<string, unknown>): string {
  return String((o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '');
}

/** The object without what an apply's dry run reports differently from the stored one. */
function comparable(o: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = o;
  const { managedFields: _m, resourceVersion: _r, generation: _g, ...meta } = (metadata ?? {}) as Record<string, unknown>;
  return { ...rest, metadata: meta };
}
