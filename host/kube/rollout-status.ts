// Whether a Deployment has rolled out, as `kubectl rollout status` judges it: the controller has
// seen the latest spec (observedGeneration ≥ generation), every replica runs it (updatedReplicas),
// no old one is left (replicas), and they are available. `wasmesh install --wait` polls this for
// the control plane, as istioctl install waits for istiod before it says it is installed.
import type { KubeApi } from './kube-api.js';

export interface RolloutState {
  done: boolean;
  /** Why not yet, in kubectl's words; '' when done. */
  reason: string;
}

interface DeploymentView {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

export function deploymentRollout(obj: Record<string, unknown>): RolloutState {
  const d = obj as DeploymentView;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return { done: false, reason: 'waiting for the deployment spec update to be observed' };
  const updated = s.updatedReplicas ?? 0;
  if (updated < want) return { done: false, reason: `${updated} of ${want} updated replicas are available` };
  const total = s.replicas ?? 0;
  if (total > updated) return { done: false, reason: `${total - updated} old replicas are pending termination` };
  const available = s.availableReplicas ?? 0;
  if (available < updated) return { done: false, reason: `${available} of ${updated} updated replicas are available` };
  return { done: true, reason: '' };
}

/** Polls the Deployment at `path` until it has rolled out (resolves) or `timeoutMs` passes (rejects with the last reason). */
export async function waitForRollout(api: KubeApi, path: string, timeoutMs: number, opts: { intervalMs?: number; now?: () => number } = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  const end = now() + timeoutMs;
  for (;;) {
    const state = deploymentRollout(await api.getJson(path));
    if (state.done) return;
    if (now() >= end) throw new Error(`not ready after ${timeoutMs / 1000} s: ${state.reason}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1_000));
  }
}
