// A workload's name from its pod's, as Istio derives WORKLOAD_NAME when nothing names it: a
// Deployment's pod is `<deployment>-<pod-template-hash>-<5 chars>` and its workload the
// Deployment; a ReplicaSet's or Job's pod `<name>-<5 chars>`; anything else is its own name.
// Kubernetes draws those suffixes from its "safe" alphabet (no vowels, no 0/1/3), so a name
// that merely ends in a five-letter word (`web-stage`) is left whole.

const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
const DEPLOYMENT_POD = new RegExp(`^(.+)-${SAFE}{6,10}-${SAFE}{5}$`);
const GENERATED_POD = new RegExp(`^(.+)-${SAFE}{5}$`);

export function workloadNameOfPod(pod: string): string {
  const m = DEPLOYMENT_POD.exec(pod);
  if (m) return m[1]!;
  const r = GENERATED_POD.exec(pod);
  return r ? r[1]! : pod;
}
