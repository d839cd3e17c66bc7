// The real kube-controller-manager for tests (issue 16's end-to-end test), built by
// scripts/install-kube-controller-manager.sh into its own cache folder keyed by version, run
// against a test API server (test/helpers/kube-cluster.ts) with only the controllers a mesh test
// needs: deployment (Deployment → ReplicaSet), replicaset (ReplicaSet → Pods, which the API
// server sends through the injection webhook), endpointslice (Service + ready Pods →
// EndpointSlices), serviceaccount (each namespace's `default`) and root-ca-cert-publisher (each
// namespace's kube-root-ca.crt, which every pod's kube-api-access volume projects: the API
// server's self-signed serving certificate here). Not the node lifecycle or pod
// garbage collectors: the test's node has no kubelet posting its status, and they would evict
// its pods. Absent binary: the suite is skipped with the reason, unless WASMESH_REQUIRE_KUBE=1,
// where absence fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KubeCluster } from './kube-cluster.js';

/** The version scripts/install-kube-controller-manager.sh builds (its cache folder's name). */
const KCM_CACHE = 'kube-controller-manager-1.34.4';
export const MESH_CONTROLLERS = ['deployment', 'replicaset', 'endpointslice', 'serviceaccount', 'root-ca-cert-publisher'] as const;

/** Where the binary is: $KUBE_CONTROLLER_MANAGER_DIR, else the script's default cache. */
export function controllerManagerBinDir(): string {
  const fromEnv = process.env.KUBE_CONTROLLER_MANAGER_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(process.env.WASMESH_CACHE_DIR ?? join(homedir(), '.cache', 'wasmesh'), KCM_CACHE);
}

/** Why it cannot run here, or null; with WASMESH_REQUIRE_KUBE=1 a reason throws instead. */
export function controllerManagerUnavailableReason(): string | null {
  const dir = controllerManagerBinDir();
  let reason: string | null = null;
  try {
    accessSync(join(dir, 'kube-controller-manager'), constants.X_OK);
  } catch {
    reason = `kube-controller-manager not found in ${dir} (run scripts/install-kube-controller-manager.sh, or set KUBE_CONTROLLER_MANAGER_DIR to its output)`;
  }
  if (reason !== null && process.env.WASMESH_REQUIRE_KUBE === '1') {
    throw new Error(`Kubernetes controller manager tests: WASMESH_REQUIRE_KUBE=1 but ${reason}`);
  }
  return reason;
}

export interface ControllerManager {
  /** The tail of what it logged (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts kube-controller-manager with `controllers` against `cluster` (its admin kubeconfig). */
export function startControllerManager(cluster: KubeCluster, controllers: readonly string[] = MESH_CONTROLLERS): ControllerManager {
  const child: ChildProcess = spawn(join(controllerManagerBinDir(), 'kube-controller-manager'), [
    `--kubeconfig=${cluster.kubeconfig}`,
    `--controllers=${controllers.join(',')}`,
    // What root-ca-cert-publisher publishes: the test API server's self-signed serving certificate.
    `--root-ca-file=${join(dirname(cluster.kubeconfig), 'certs', 'apiserver.crt')}`,
    // One instance, no serving port, one credential (the test's admin token), quiet.
    '--leader-elect=false', '--secure-port=0', '--use-service-account-credentials=false',
    // Sync at once rather than in batches: the test waits for each step.
    '--endpointslice-updates-batch-period=0s',
    '--v=1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const add = (b: Buffer): void => { output = (output + b.toString()).slice(-32_000); };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return {
    log: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
