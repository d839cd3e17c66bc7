// A cluster's DestinationRule `tls` (merged by level, traffic-policy.ts) → the model's ClusterTls
// (host/model/cluster-tls.ts), under the same enforcement decisions as the load's checks
// (security-checks.ts checkClientTls): SIMPLE and MUTUAL from files are enforced; ISTIO_MUTUAL
// and auto mTLS only when the proxy has a workload identity (LoadOptions.workloadIdentity); a
// credentialName is read from --credentials-dir (credential-files.ts); a
// setting that cannot be enforced (caCrl, ISTIO_MUTUAL without identity) reached here
// only because --allow-unenforced-security turned its refusal into a NOT ENFORCED warning, and
// is plaintext. Undefined: plaintext (the model's default, kept absent).
import type { TrafficPolicySpec } from '../istio-schemas.js';
import { clusterTls, type ClientTlsPolicy, type ClusterTls } from '../../model/cluster-tls.js';
import type { Endpoint } from '../../model/mesh.js';
import { resolveCredentialFiles } from './credential-files.js';

type ClientTlsSpec = NonNullable<TrafficPolicySpec['tls']>;

/** Whether this version enforces a DestinationRule tls (the checks refuse what it does not). */
export function clientTlsEnforced(tls: ClientTlsSpec, workloadIdentity: boolean): boolean {
  const mode = tls.mode ?? 'DISABLE';
  if (mode === 'DISABLE') return true;
  if (tls.caCrl !== undefined) return false;
  return mode !== 'ISTIO_MUTUAL' || workloadIdentity;
}

export function clusterTlsOf(
  tls: ClientTlsSpec | undefined,
  cluster: { host: string; port: number; subset: string | null; endpoints: readonly Endpoint[] },
  workloadIdentity: boolean,
  credentialsDir?: string,
): ClusterTls | undefined {
  let policy: ClientTlsPolicy | null;
  if (tls === undefined) {
    // Auto mTLS needs the proxy's own certificate: without one, plaintext as before.
    if (!workloadIdentity) return undefined;
    policy = null;
  } else if (!clientTlsEnforced(tls, workloadIdentity)) {
    return undefined;
  } else {
    const mode = tls.mode ?? 'DISABLE';
    // credentialName: the secret's files replace the file fields (checked by the load's checks;
    // one that cannot be found refused the load, so it never reaches a cluster).
    let files: ClientTlsSpec = tls;
    if (tls.credentialName !== undefined) {
      const found = resolveCredentialFiles(tls.credentialName, credentialsDir, { keyPair: mode === 'MUTUAL', ca: 'optional' });
      if (!found.ok) return undefined;
      const { certificateChain, privateKey, caCertificates } = found.files;
      files = { ...(caCertificates !== null && { caCertificates }), ...(certificateChain !== null && { clientCertificate: certificateChain }), ...(privateKey !== null && { privateKey }) };
    }
    policy = {
      mode,
      ...(tls.sni !== undefined && { sni: tls.sni }),
      ...(tls.subjectAltNames !== undefined && { subjectAltNames: tls.subjectAltNames }),
      ...(files.caCertificates !== undefined && { caCertificates: files.caCertificates }),
      ...(files.clientCertificate !== undefined && { clientCertificate: files.clientCertificate }),
      ...(files.privateKey !== undefined && { privateKey: files.privateKey }),
      ...(tls.insecureSkipVerify !== undefined && { insecureSkipVerify: tls.insecureSkipVerify }),
    };
  }
  const resolved = clusterTls({ host: cluster.host, port: cluster.port, subset: cluster.subset, tls: policy, endpoints: cluster.endpoints.map((e) => ({ labels: e.labels, spiffeId: e.spiffeId ?? null })) });
  return resolved.mode === 'DISABLE' ? undefined : resolved;
}
