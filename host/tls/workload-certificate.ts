// The proxy's own identity as TLS uses it: the mesh CA's SVID (chain and key) and the trust
// bundle, held in memory and replaced in place when renewed. TLS settings that name the
// workload credential (DestinationRule ISTIO_MUTUAL, auto-mTLS, PeerAuthentication STRICT and
// PERMISSIVE) take certificate, key and roots from a source of this shape, never from files:
// where it comes from (the control plane's CA over Istio's CSR API, or certificate files mounted
// as Istio's /etc/certs) is the source's business.

/** One certificate in hand. */
export interface WorkloadCertificate {
  /** The SPIFFE ID in the leaf's URI SAN (spiffe://<trust-domain>/ns/<ns>/sa/<sa>). */
  readonly identity: string;
  /** Leaf then intermediates, PEM. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /** The trust bundle peers are verified against: one or more roots, PEM, concatenated. */
  readonly rootsPem: string;
  readonly notAfter: Date;
}

export interface WorkloadCertificateSource {
  /**
   * The certificate to use now; null before the first arrives or after one expired without a
   * renewal. A TLS endpoint that needs it while it is null fails closed (no handshake).
   */
  current(): WorkloadCertificate | null;
  /** Calls `listener` with each new certificate (renewal, root change); returns the unsubscribe. */
  subscribe(listener: (cert: WorkloadCertificate) => void): () => void;
  /** The identity's trust domain when known before the first certificate (the CA client's). */
  readonly trustDomain?: string;
}
