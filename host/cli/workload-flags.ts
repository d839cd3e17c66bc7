// Who the proxy's workload is, from its flags and environment as Istio's agent reads them
// (pkg/istio-agent, the ISTIO_META_* variables): `--workload` (Istio's WORKLOAD_NAME), else
// ISTIO_META_WORKLOAD_NAME, else the pod name without its Deployment suffixes; namespace and
// labels as the other flags give them; CLUSTER_ID from ISTIO_META_CLUSTER_ID (default
// `Kubernetes`), the mesh id from ISTIO_META_MESH_ID (default the trust domain); the principal
// from the identity the flags ask a certificate for. `--istio-metrics off` turns Istio's
// standard metrics off.
import { hostname } from 'node:os';
import type { FlagSpec, FlagValues } from './args.js';
import { UsageError } from './args.js';
import { workloadMetadata, type WorkloadMetadata } from '../model/workload-metadata.js';
import { workloadNameOfPod } from '../model/workload-name.js';
import type { IdentityChoice } from './identity-flags.js';
import { formatSpiffeId } from '../identity/spiffe-id.js';

export const WORKLOAD_FLAGS: FlagSpec[] = [
  { name: 'workload', kind: 'string', valueName: '<name>', help: 'this workload\'s name (Istio\'s WORKLOAD_NAME: the source_/destination_workload label, peer metadata)', defaultText: 'ISTIO_META_WORKLOAD_NAME, else POD_NAME (or the hostname) less its Deployment suffixes' },
  { name: 'istio-metrics', kind: 'string', valueName: '<on|off>', help: 'Istio\'s standard metrics (istio_requests_total, …) and the peer metadata exchange', defaultText: 'on' },
];

/** `--istio-metrics`: true when on (default). */
export function istioMetricsFromFlags(command: string, values: FlagValues): boolean {
  const v = (values['istio-metrics'] as string | undefined) ?? 'on';
  if (v !== 'on' && v !== 'off') throw new UsageError(command, `--istio-metrics: expected on or off, got "${v}"`);
  return v === 'on';
}

export function workloadFromFlags(command: string, values: FlagValues, identity: IdentityChoice | null, labels: Record<string, string> | undefined, env: NodeJS.ProcessEnv = process.env): WorkloadMetadata {
  const flag = values.workload as string | undefined;
  if (flag !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(flag)) throw new UsageError(command, `--workload: "${flag}" is not a Kubernetes object name (lower-case letters, digits, '-' and '.')`);
  const pod = env.POD_NAME || hostname();
  const namespace = (values.namespace as string | undefined) ?? env.POD_NAMESPACE ?? 'default';
  const ip = env.INSTANCE_IP || undefined;
  const principal = identity?.kind === 'ca' ? formatSpiffeId(identity.identity) : null;
  const trustDomain = identity?.kind === 'ca' ? identity.identity.trustDomain : undefined;
  return workloadMetadata({
    name: flag ?? (env.ISTIO_META_WORKLOAD_NAME || workloadNameOfPod(pod)),
    namespace,
    labels: labels ?? {},
    cluster: env.ISTIO_META_CLUSTER_ID || undefined,
    meshId: env.ISTIO_META_MESH_ID || trustDomain,
    principal,
    nodeId: `sidecar~${ip ?? '127.0.0.1'}~${pod}.${namespace}~${namespace}.svc.cluster.local`,
    ...(ip !== undefined ? { instanceIp: ip } : {}),
  });
}
