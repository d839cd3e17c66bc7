// TLS settings as the data path takes them (plain data, file paths): how a cluster originates
// TLS (a DestinationRule's `tls`: SIMPLE or MUTUAL from files) and how a listener terminates it.
// Certificates are files here; where they come from (the mesh CA, SDS, credentialName) is not.

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** Upstream TLS origination for one cluster (Istio ClientTLSSettings). */
export interface UpstreamTlsSettings {
  /**
   * SIMPLE: verify the server; MUTUAL: present a client certificate as well (both from files);
   * ISTIO_MUTUAL: the mesh's mTLS, with the proxy's workload certificate, key and trust bundle
   * (host/tls/workload-certificate.ts) instead of the file fields, which must then be absent.
   */
  readonly mode: 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  /** PEM roots to verify the server with; absent: Node's bundled public roots. */
  readonly caCertificates?: string;
  /** MUTUAL: the client certificate chain and its key (PEM files). */
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  /** The SNI sent; absent: none for an IP address, the host name otherwise. */
  readonly sni?: string;
  /** ALPN offered, in order (Istio's mesh mTLS offers istio-http/1.1, istio, http/1.1). */
  readonly alpn?: readonly string[];
  /**
   * The server certificate must carry one of these as a URI or DNS SAN (SPIFFE IDs, host
   * names). Empty: the SNI, when set, is checked as a host name; else the chain alone decides.
   */
  readonly subjectAltNames?: readonly string[];
  /** No chain or name verification at all (only when asked). */
  readonly insecureSkipVerify?: boolean;
  /** Lowest TLS version (default TLSv1.2, as Envoy's client default). */
  readonly minProtocolVersion?: TlsMinVersion;
}

/** Downstream TLS termination for one listener (the workload certificate and trust bundle). */
export interface DownstreamTlsSettings {
  /**
   * 'files' (default): chain, key and trust bundle from the PEM files below. 'workload': the
   * proxy's workload certificate, key and trust bundle (host/tls/workload-certificate.ts),
   * rotated in place; the three file fields must then be absent.
   */
  readonly credential?: 'files' | 'workload';
  /** The listener's certificate chain and key (PEM files). Its URI SAN is XFCC's `By`. */
  readonly certificateChain?: string;
  readonly privateKey?: string;
  /** The trust bundle client certificates must chain to (required with requireClientCertificate). */
  readonly caCertificates?: string;
  /** Mutual TLS: a client certificate from the trust bundle is required (PeerAuthentication STRICT). */
  readonly requireClientCertificate: boolean;
  /** ALPN accepted, in preference order (default http/1.1, istio-http/1.1, istio). */
  readonly alpn?: readonly string[];
  readonly minProtocolVersion?: TlsMinVersion;
  /** Time from accept to a finished handshake (or a sniffed plaintext byte); default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /**
   * Session ticket keys, 48 bytes in base64: the same on every thread accepting on the port, so
   * a session resumes whichever thread takes the next connection. Absent: ProxyServer makes
   * random ones (node:tls would make its own per thread).
   */
  readonly sessionTicketKeys?: string;
}

/** How a listener's accepted connections are read: plain TCP, TLS only, or either (first bytes decide). */
export type DownstreamTransportConfig =
  | { readonly kind: 'raw' }
  | { readonly kind: 'tls'; readonly tls: DownstreamTlsSettings }
  | { readonly kind: 'permissive'; readonly tls: DownstreamTlsSettings };

/** A proxy's TLS settings as a whole: its listener's transport and TLS origination per cluster name. */
export interface ProxyTlsSettings {
  readonly downstreamTransport?: DownstreamTransportConfig;
  readonly upstreamTls?: Readonly<Record<string, UpstreamTlsSettings>>;
  /** An ingress gateway's listener: the Gateway port it serves and its session ticket keys (host/listener/transport/gateway-tls.ts). */
  readonly gatewayPort?: number | 'auto';
  readonly gatewayTicketKeys?: string;
}
