// The sidecar injector as a mutating admission webhook (istiod's `/inject`): an AdmissionReview v1
// for a Pod CREATE in, an AdmissionReview out whose response carries the RFC 6902 patch
// (host/kube/json-patch.ts) that makes the pod what `wasmesh kube-inject` makes of it — the same
// injectPod (host/kube/sidecar-injection.ts), not a second implementation. Pure: no I/O, the HTTPS
// server is host/control-plane/injection-webhook-server.ts.
//
// As istiod: a pod that is not to be injected (opted out, already injected, hostNetwork, a
// namespace Istio never injects) is allowed unchanged; a pod the injector refuses (a bad
// annotation, no TCP port) is DENIED with the located reason as the status message — istiod's
// toAdmissionResponse(err) leaves `allowed` false — so `kubectl create` shows why; a review that
// cannot be read gets the same denial (uid echoed when there is one). Whether a denial or an
// unreachable webhook blocks the pod is then the configuration's failurePolicy (Fail by default).
import { createJsonPatch } from './json-patch.js';
import { injectPod, type WorkloadRef } from './sidecar-injection.js';
import { InjectSettingError, type InjectDefaults } from './injection-settings.js';
import { podTemplateOf, TemplateShapeError } from './pod-template.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** Namespaces istiod never injects (its IgnoredNamespaces). */
export const IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch text. */
  patch?: string;
  status?: { code: number; message: string };
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** What happened to one review, for the server's log and counters. */
export type WebhookOutcome =
  | { kind: 'injected'; pod: string }
  | { kind: 'skipped'; pod: string; reason: string }
  | { kind: 'denied'; pod: string; reason: string };

type Obj = Record<string, unknown>;

/** Answers one AdmissionReview (already parsed JSON). Never throws. */
export function reviewAdmission(review: unknown, defaults: InjectDefaults): { review: AdmissionReviewOut; outcome: WebhookOutcome } {
  const answer = (response: Omit<AdmissionResponse, 'uid'>, uid: string, outcome: WebhookOutcome): { review: AdmissionReviewOut; outcome: WebhookOutcome } => ({
    review: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response: { uid, ...response } },
    outcome,
  });
  const deny = (uid: string, pod: string, reason: string) =>
    answer({ allowed: false, status: { code: 400, message: `wasmesh sidecar injection: ${reason}` } }, uid, { kind: 'denied', pod, reason });

  if (!isObj(review)) return deny('', '?', 'the request body is not an AdmissionReview object');
  const request = review.request;
  const uid = isObj(request) && typeof request.uid === 'string' ? request.uid : '';
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== 'AdmissionReview') {
    return deny(uid, '?', `expected apiVersion ${ADMISSION_API_VERSION} kind AdmissionReview, got ${String(review.apiVersion)} ${String(review.kind)} (register the webhook with admissionReviewVersions: [v1])`);
  }
  if (!isObj(request)) return deny(uid, '?', 'AdmissionReview has no request');
  if (uid === '') return deny(uid, '?', 'request.uid is missing');
  const kind = request.kind;
  const pod = request.object;
  const namespace = typeof request.namespace === 'string' && request.namespace !== '' ? request.namespace
    : isObj(pod) && isObj(pod.metadata) && typeof pod.metadata.namespace === 'string' ? pod.metadata.namespace : 'default';
  const meta = isObj(pod) && isObj(pod.metadata) ? pod.metadata : {};
  const podName = typeof meta.name === 'string' && meta.name !== '' ? meta.name
    : typeof meta.generateName === 'string' ? `${meta.generateName}***` : '';
  const where = `${namespace}/${podName || '?'}`;
  if (!isObj(kind) || kind.kind !== 'Pod' || (kind.group ?? '') !== '' || kind.version !== 'v1') {
    // Not ours to change: the configuration's rules send only pods; anything else passes.
    return answer({ allowed: true }, uid, { kind: 'skipped', pod: where, reason: `not a v1 Pod (${JSON.stringify(kind)})` });
  }
  if (request.operation !== undefined && request.operation !== 'CREATE') {
    return answer({ allowed: true }, uid, { kind: 'skipped', pod: where, reason: `operation ${String(request.operation)} (only CREATE is injected)` });
  }
  if (!isObj(pod)) return deny(uid, where, 'request.object is not a Pod object');
  if (IGNORED_NAMESPACES.includes(namespace)) {
    return answer({ allowed: true }, uid, { kind: 'skipped', pod: where, reason: `namespace ${namespace} is never injected` });
  }

  const injected = structuredClone(pod);
  let warnings: string[] = [];
  try {
    const template = podTemplateOf('Pod', injected);
    const outcome = injectPod(template, workloadOf(meta, podName, namespace), defaults);
    if (!outcome.injected) return answer({ allowed: true }, uid, { kind: 'skipped', pod: where, reason: outcome.reason });
    warnings = outcome.warnings.map((w) => `wasmesh sidecar injection: Pod ${where} ${w}`);
  } catch (err) {
    if (err instanceof TemplateShapeError) return deny(uid, where, `Pod ${where} ${err.path}: ${err.message}`);
    if (err instanceof InjectSettingError) return deny(uid, where, `Pod ${where} ${err.where}: ${err.message}`);
    return deny(uid, where, `Pod ${where}: ${(err as Error).message}`);
  }
  const patch = createJsonPatch(pod, injected);
  return answer(
    { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64'), ...(warnings.length > 0 ? { warnings } : {}) },
    uid,
    { kind: 'injected', pod: where },
  );
}

/**
 * The workload a pod belongs to, as istiod's GetDeployMetaFromPod: a ReplicaSet owner with the
 * pod-template-hash label is its Deployment; another controller owner is itself; no owner, the
 * pod. (A pod created by a Deployment has only generateName: the name is not known yet.)
 */
export function workloadOf(meta: Obj, podName: string, namespace: string): WorkloadRef {
  const owners = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as unknown[]).filter(isObj) : [];
  const controller = owners.find((o) => o.controller === true);
  if (controller && typeof controller.kind === 'string' && typeof controller.name === 'string') {
    const labels = isObj(meta.labels) ? meta.labels : {};
    const hash = labels['pod-template-hash'];
    if (controller.kind === 'ReplicaSet' && typeof hash === 'string' && controller.name.endsWith(`-${hash}`)) {
      return { apiVersion: 'apps/v1', kind: 'Deployment', name: controller.name.slice(0, -hash.length - 1), namespace };
    }
    return { apiVersion: typeof controller.apiVersion === 'string' ? controller.apiVersion : 'v1', kind: controller.kind, name: controller.name, namespace };
  }
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name
    : typeof meta.generateName === 'string' ? meta.generateName.replace(/-$/, '') : podName;
  return { apiVersion: 'v1', kind: 'Pod', name, namespace };
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
