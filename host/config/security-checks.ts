// Which security settings ask for protection wasmesh cannot enforce yet, decided per Istio's
// documented semantics (docs/config-decisions.md, "Security resources"): those go to the gate
// (security-gate.ts: an error, or a NOT ENFORCED warning with the flag); settings that ask for
// nothing beyond what wasmesh does (plaintext, no access control) are accepted.
import { warningAt, issueAt, type DocumentRef } from './issue-location.js';
import type { GatewaySpec, TrafficPolicySpec } from './istio-schemas.js';
import type { SourcedResource } from './read-resource.js';
import { refuseUnenforced, type SecurityGate } from './security-gate.js';
import type { PeerAuthenticationSpec, RequestAuthenticationSpec } from './security-schemas.js';
import type { PathSegment } from './yaml-source.js';
import { resolveCredentialFiles } from './translate/credential-files.js';

type ClientTlsSpec = NonNullable<TrafficPolicySpec['tls']>;

const NO_MTLS = 'the proxy has no workload identity (start it with --token-file or --cert-dir, so that it gets its certificate from the mesh CA), so plaintext connections would be accepted';

/**
 * A PeerAuthentication or RequestAuthentication; other kinds are ignored. AuthorizationPolicy is
 * enforced (validated and scoped per proxy by translate/authorization.ts, evaluated by the
 * authorization filter, and by Envoy's RBAC filter for stock Envoy), so it has no gate.
 */
export function checkSecurityResource(r: SourcedResource, gate: SecurityGate): void {
  switch (r.resource.kind) {
    case 'PeerAuthentication':
      return checkPeerAuthentication(r.resource.spec as PeerAuthenticationSpec, r.ref, gate);
    case 'RequestAuthentication':
      return checkRequestAuthentication(r.resource.spec as RequestAuthenticationSpec, r.ref, gate);
    default:
      return;
  }
}

/**
 * STRICT (mesh, namespace, workload or port level) requires mTLS: enforced by a proxy with a
 * workload identity (its sidecar's inbound listener terminates mTLS with the workload
 * certificate, host/server/inbound-transport.ts), refused by one without. PERMISSIVE without an
 * identity accepts plaintext only (mTLS clients cannot connect): a warning. DISABLE is
 * plaintext, UNSET inherits.
 */
function checkPeerAuthentication(spec: PeerAuthenticationSpec, ref: DocumentRef, gate: SecurityGate): void {
  const mode = spec.mtls?.mode;
  const enforced = gate.workloadIdentity === true;
  if (mode === 'STRICT' && !enforced) refuseUnenforced(gate, ref, ['spec', 'mtls', 'mode'], `mutual TLS mode STRICT (only mTLS connections accepted): ${NO_MTLS}`);
  else if (mode === 'PERMISSIVE' && !enforced) gate.warnings.push(warningAt(ref, ['spec', 'mtls', 'mode'], `PERMISSIVE: ${NO_IDENTITY}; it accepts plaintext only, mTLS clients cannot connect`));
  for (const [port, setting] of Object.entries(spec.portLevelMtls ?? {})) {
    const path: PathSegment[] = ['spec', 'portLevelMtls', port];
    const n = Number(port);
    if (!/^\d+$/.test(port) || n < 1 || n > 65_535) {
      gate.issues.push(issueAt(ref, 'invalid_value', path, `"${port}" is not a port (1..65535)`));
      continue;
    }
    if (setting.mode === 'STRICT' && !enforced) refuseUnenforced(gate, ref, [...path, 'mode'], `mutual TLS mode STRICT on port ${port}: ${NO_MTLS}`);
  }
}

/**
 * jwtRules are enforced (the jwt-authn filter, translate/request-authentication.ts validates
 * them): nothing to refuse. A policy without rules validates nothing: a warning.
 */
function checkRequestAuthentication(spec: RequestAuthenticationSpec, ref: DocumentRef, gate: SecurityGate): void {
  const rules = spec.jwtRules ?? [];
  if (rules.length === 0) gate.warnings.push(warningAt(ref, spec.jwtRules === undefined ? ['spec'] : ['spec', 'jwtRules'], 'has no jwtRules, so it validates nothing: accepted, it changes nothing'));
}

const NO_IDENTITY = 'the proxy has no workload identity (start it with --token-file or --cert-dir, so that it gets its certificate from the mesh CA)';

/**
 * A DestinationRule `tls` (at service, subset or port level) at `path`. SIMPLE and MUTUAL with
 * certificate files are enforced (MUTUAL needs clientCertificate and privateKey). ISTIO_MUTUAL
 * is enforced when the proxy has a workload identity, else refused, naming the flags.
 * credentialName (SIMPLE, MUTUAL) is read from --credentials-dir as Kubernetes TLS secrets, as a
 * Gateway's is (translate/credential-files.ts): MUTUAL needs its tls.crt and tls.key, ca.crt is
 * taken when present; a credential that cannot be found is a located error. caCrl is refused. The decisions match cluster-tls-policy.ts clientTlsEnforced.
 * With DISABLE (the proto default when mode is unset), the other fields have no effect (as in
 * Istio): a warning.
 */
export function checkClientTls(tls: ClientTlsSpec, ref: DocumentRef, path: readonly PathSegment[], gate: SecurityGate): void {
  const mode = tls.mode ?? 'DISABLE';
  if (mode === 'DISABLE') {
    const unused = Object.keys(tls).filter((k) => k !== 'mode');
    if (unused.length > 0) gate.warnings.push(warningAt(ref, path, `mode ${tls.mode === undefined ? 'unset (DISABLE)' : 'DISABLE'}: ${unused.join(', ')} ${unused.length === 1 ? 'has' : 'have'} no effect, connections are plaintext`));
    return;
  }
  if (tls.credentialName !== undefined) {
    if (mode === 'ISTIO_MUTUAL') {
      gate.issues.push(issueAt(ref, 'invalid_value', [...path, 'credentialName'], 'mode ISTIO_MUTUAL takes the certificate from the mesh; credentialName must be absent'));
      return;
    }
    const found = resolveCredentialFiles(tls.credentialName, gate.credentialsDir, { keyPair: mode === 'MUTUAL', ca: 'optional' });
    if (!found.ok) {
      gate.issues.push(issueAt(ref, 'invalid_value', [...path, 'credentialName'], found.reason));
      return;
    }
    const ignored = (['clientCertificate', 'privateKey', 'caCertificates'] as const).filter((f) => tls[f] !== undefined);
    if (ignored.length > 0) gate.warnings.push(warningAt(ref, [...path, 'credentialName'], `credentialName ${tls.credentialName} is used; ${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} ignored (as in Istio)`));
  }
  if (tls.caCrl !== undefined) {
    refuseUnenforced(gate, ref, [...path, 'caCrl'], 'tls caCrl (revoked server certificates refused): certificate revocation lists are not checked yet');
    return;
  }
  if (mode === 'ISTIO_MUTUAL') {
    if (gate.workloadIdentity !== true) refuseUnenforced(gate, ref, [...path, 'mode'], `tls mode ISTIO_MUTUAL (mutual TLS to the upstream with the mesh's certificates): ${NO_IDENTITY}, so requests would leave in plaintext`);
    for (const f of ['clientCertificate', 'privateKey', 'caCertificates'] as const) {
      if (tls[f] !== undefined) gate.issues.push(issueAt(ref, 'invalid_value', [...path, f], `mode ISTIO_MUTUAL takes the certificate from the mesh; ${f} must be absent`));
    }
    return;
  }
  if (mode === 'MUTUAL' && tls.credentialName === undefined) {
    for (const f of ['clientCertificate', 'privateKey'] as const) {
      if (tls[f] === undefined) gate.issues.push(issueAt(ref, 'missing_field', [...path, f], `mode MUTUAL needs ${f} (a PEM file)`));
    }
  }
}

/** Gateway server TLS fields this version does not serve, each asking for a check it would skip. */
const UNSERVED_SERVER_TLS: Record<string, string> = {
  caCrl: 'client certificates checked against a revocation list',
  credentialNames: 'several certificates per server (RSA and ECDSA)',
  tlsCertificates: 'several certificates per server (RSA and ECDSA)',
  caCertCredentialName: 'the client CA from a separate secret named here (the <credentialName>-cacert secret is read)',
  verifyCertificateSpki: 'client certificates pinned by public key',
  verifyCertificateHash: 'client certificates pinned by hash',
  insecureSkipVerify: 'client certificates accepted without verification',
};

/**
 * A Gateway's `servers[].tls`: SIMPLE, MUTUAL and OPTIONAL_MUTUAL termination and httpsRedirect
 * are served by the gateway proxy (translate/gateway-tls.ts), SNI passthrough (PASSTHROUGH, the
 * default mode, and AUTO_PASSTHROUGH) too (translate/gateway-passthrough.ts). Refused, for every
 * Gateway: ISTIO_MUTUAL (the mesh's certificates at the gateway) and the fields listed above,
 * none of which is served yet.
 */
export function checkGatewayTls(r: SourcedResource, gate: SecurityGate): void {
  const spec = r.resource.spec as GatewaySpec;
  spec.servers.forEach((server, i) => {
    const tls = server.tls;
    if (tls === undefined) return;
    const path: PathSegment[] = ['spec', 'servers', i, 'tls'];
    const settings = Object.keys(tls).filter((k) => k !== 'httpsRedirect');
    if (settings.length === 0) return;
    const mode = tls.mode ?? 'PASSTHROUGH';
    // Passed through by SNI (translate/gateway-passthrough.ts): the backend does the TLS.
    if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') return;
    if (mode === 'ISTIO_MUTUAL') {
      refuseUnenforced(gate, r.ref, [...path, 'mode'], `TLS mode ISTIO_MUTUAL on port ${server.port.number} (mutual TLS with the mesh's certificates): not supported at the gateway yet (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, PASSTHROUGH and AUTO_PASSTHROUGH are)`);
      return;
    }
    for (const field of settings) {
      const what = UNSERVED_SERVER_TLS[field];
      if (what !== undefined) refuseUnenforced(gate, r.ref, [...path, field], `${field} on port ${server.port.number} (${what}): not served at the gateway yet`);
    }
  });
}
