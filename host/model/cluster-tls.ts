// How a cluster (service, subset, port) originates TLS, as Istio decides it: the DestinationRule
// `tls` that applies (already merged by level: subset over service, port level over each), or,
// with none, Istio's auto mTLS: when the endpoints carry `security.istio.io/tlsMode: istio`
// (they run a sidecar), ISTIO_MUTUAL. ISTIO_MUTUAL (set or automatic) defaults its SNI to
// `outbound_.<port>_.<subset>_.<host>` and its expected SANs to the SPIFFE IDs of the
// destination's service accounts, as Istio's sidecars do. DISABLE is plaintext.
//
// Auto mTLS here is per cluster: every endpoint labelled → ISTIO_MUTUAL, otherwise plaintext
// (Istio matches per endpoint; a cluster mixing both is plaintext to all, which a STRICT peer
// refuses rather than serves, never the reverse).

export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** The endpoint label that says a workload has a sidecar terminating mesh mTLS. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** A DestinationRule's ClientTLSSettings (the level that applies). */
export interface ClientTlsPolicy {
  readonly mode: ClientTlsMode;
  readonly sni?: string;
  readonly subjectAltNames?: readonly string[];
  /** PEM file paths (SIMPLE, MUTUAL). */
  readonly caCertificates?: string;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly insecureSkipVerify?: boolean;
}

export interface ClusterTlsInput {
  /** Fully qualified service host. */
  readonly host: string;
  readonly port: number;
  readonly subset: string | null;
  /** The merged DestinationRule tls for this cluster; null: none applies. */
  readonly tls: ClientTlsPolicy | null;
  readonly endpoints: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly spiffeId?: string | null }>;
}

/** The resolved origination: plaintext, or TLS with its settings and whether auto mTLS chose it. */
export type ClusterTls =
  | { readonly mode: 'DISABLE'; readonly auto: boolean }
  | (Omit<ClientTlsPolicy, 'mode'> & { readonly mode: Exclude<ClientTlsMode, 'DISABLE'>; readonly auto: boolean });

/** Istio's SNI for mesh mTLS to a cluster: outbound_.<port>_.<subset>_.<host>. */
export function istioMutualSni(host: string, port: number, subset: string | null): string {
  return `outbound_.${port}_.${subset ?? ''}_.${host}`;
}

export function clusterTls(c: ClusterTlsInput): ClusterTls {
  if (c.tls === null) {
    const sidecars = c.endpoints.length > 0 && c.endpoints.every((e) => e.labels[TLS_MODE_LABEL] === 'istio');
    if (!sidecars) return { mode: 'DISABLE', auto: false };
    return { mode: 'ISTIO_MUTUAL', sni: istioMutualSni(c.host, c.port, c.subset), subjectAltNames: identities(c), auto: true };
  }
  if (c.tls.mode === 'DISABLE') return { mode: 'DISABLE', auto: false };
  if (c.tls.mode === 'ISTIO_MUTUAL') {
    return {
      mode: 'ISTIO_MUTUAL',
      sni: c.tls.sni ?? istioMutualSni(c.host, c.port, c.subset),
      subjectAltNames: c.tls.subjectAltNames !== undefined && c.tls.subjectAltNames.length > 0 ? c.tls.subjectAltNames : identities(c),
      auto: false,
    };
  }
  return { ...c.tls, mode: c.tls.mode, auto: false };
}

/** The destination's SPIFFE IDs, sorted and distinct (empty: the chain alone decides). */
function identities(c: ClusterTlsInput): string[] {
  return [...new Set(c.endpoints.map((e) => e.spiffeId).filter((s): s is string => typeof s === 'string' && s.length > 0))].sort();
}
