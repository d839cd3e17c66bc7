// Where a workload keeps the pod it runs: the kinds `istioctl kube-inject` injects (Pod,
// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, and the old
// ReplicationController) and the path to their pod template. The injector edits the pod found
// here and leaves every other field of the object as it was; a kind not listed is passed through.

/** A pod's metadata and spec, as a workload's template or a Pod object holds them. */
export interface PodTemplate {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
}

/** Path (in the object) to the pod template of each injectable kind; [] is the object itself (Pod). */
const TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function isInjectableKind(kind: string): boolean {
  return Object.hasOwn(TEMPLATE_PATHS, kind);
}

/** The template path of `kind` as a YAML-ish location (`spec.template`), '' for a Pod. */
export function templatePath(kind: string): string {
  return (TEMPLATE_PATHS[kind] ?? []).join('.');
}

/**
 * The pod template of `object` (a kind isInjectableKind accepts), made mutable in place: a missing
 * `metadata` is created, a missing `spec` or containers list is an error naming the path.
 */
export function podTemplateOf(kind: string, object: Record<string, unknown>): PodTemplate {
  let node: unknown = object;
  const walked: string[] = [];
  for (const key of TEMPLATE_PATHS[kind] ?? []) {
    walked.push(key);
    const next = (node as Record<string, unknown>)[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new TemplateShapeError(walked.join('.'), `a ${kind} needs ${walked.join('.')} (an object)`);
    }
    node = next;
  }
  const pod = node as Record<string, unknown>;
  const prefix = walked.length === 0 ? '' : `${walked.join('.')}.`;
  if (pod.metadata === undefined || pod.metadata === null) pod.metadata = {};
  if (typeof pod.metadata !== 'object' || Array.isArray(pod.metadata)) throw new TemplateShapeError(`${prefix}metadata`, 'must be an object');
  if (pod.spec === null || typeof pod.spec !== 'object' || Array.isArray(pod.spec)) throw new TemplateShapeError(`${prefix}spec`, `a ${kind} needs ${prefix}spec (an object)`);
  const spec = pod.spec as Record<string, unknown>;
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw new TemplateShapeError(`${prefix}spec.containers`, 'a pod needs at least one container');
  }
  return { metadata: pod.metadata as Record<string, unknown>, spec };
}

/**
 * The object is not shaped as its kind says: `path` is where, inside the object — or inside the
 * pod template when `inPod` (the injector's own checks, which do not know the workload's kind).
 */
export class TemplateShapeError extends Error {
  constructor(readonly path: string, why: string, readonly inPod = false) {
    super(why);
    this.name = 'TemplateShapeError';
  }
}
