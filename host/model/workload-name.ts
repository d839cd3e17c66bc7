// A workload's name from its pod's, as Istio derives WORKLOAD_NAME when nothing names it: a
// Deployment's pod is `<deployment>-<pod-template-hash>-<5 chars>` and its workload the
// Deployment; a ReplicaSet's or Job's pod `<name>-<5 chars>`; anything else is its own name.

export function workloadNameOfPod(pod: string): string {
  const m = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/.exec(pod);
  if (m) return m[1]!;
  const r = /^(.+)-[a-z0-9]{5}$/.exec(pod);
  return r ? r[1]! : pod;
}
