// A cluster's DestinationRule `tls` (merged by level, traffic-policy.ts) → the model's ClusterTls
// (host/model/cluster-tls.ts), under the same enforcement decisions as the load's checks
// (security-checks.ts checkClientTls): SIMPLE and MUTUAL from files are enforced; ISTIO_MUTUAL
// and auto mTLS only when the proxy has a workload identity (LoadOptions.workloadIdentity); a
// setting that cannot be enforced (credentialName, ISTIO_MUTUAL without identity) reached here
// only because --allow-unenforced-security turned its refusal into a NOT ENFORCED warning, and
// is plaintext. Undefined: plaintext (the model's default, kept absent).
import type { TrafficPolicySpec } from '../istio-schemas.js';
import { clusterTls, type ClientTlsPolicy, type ClusterTls } from '../../model/cluster-tls.js';
import type { Endpoint } from '../../model/mesh.js';

type ClientTlsSpec = NonNullable<TrafficPolicySpec['tls']>;

/** Whether this version enforces a DestinationRule tls (the checks refuse what it does not). */
export function clientTlsEnforced(tls: ClientTlsSpec, workloadIdentity: boolean): boolean {
  const mode = tls.mode ?? 'DISABLE';
  if (mode === 'DISABLE') return true;
  if (tls.credentialName !== undefined || tls.caCrl !== undefined) return false;
  return mode !== 'ISTIO_MUTUAL' || workloadIdentity;
}

export function clusterTlsOf(
  tls: ClientTlsSpec | undefined,
  cluster: { host: string; port: number; subset: string | null; endpoints: readonly Endpoint[] },
  workloadIdentity: boolean,
): ClusterTls | undefined {
  let policy: ClientTlsPolicy | null;
  if (tls === undefined) {
    // Auto mTLS needs the proxy's own certificate: without one, plaintext as before.
    if (!workloadIdentity) return undefined;
    policy = null;
  } else if (!clientTlsEnforced(tls, workloadIdentity)) {
    return undefined;
  } else {
    policy = {
      mode: tls.mode ?? 'DISABLE',
      ...(tls.sni !== undefined && { sni: tls.sni }),
      ...(tls.subjectAltNames !== undefined && { subjectAltNames: tls.subjectAltNames }),
      ...(tls.caCertificates !== undefined && { caCertificates: tls.caCertificates }),
      ...(tls.clientCertificate !== undefined && { clientCertificate: tls.clientCertificate }),
      ...(tls.privateKey !== undefined && { privateKey: tls.privateKey }),
      ...(tls.insecureSkipVerify !== undefined && { insecureSkipVerify: tls.insecureSkipVerify }),
    };
  }
  const resolved = clusterTls({ host: cluster.host, port: cluster.port, subset: cluster.subset, tls: policy, endpoints: cluster.endpoints.map((e) => ({ labels: e.labels, spiffeId: e.spiffeId ?? null })) });
  return resolved.mode === 'DISABLE' ? undefined : resolved;
}
