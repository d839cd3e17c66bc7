// What an ingress gateway listens with, per port of its Gateway: the port's servers (hosts,
// TLS termination settings with certificate files, httpsRedirect), as Envoy's filter chains per
// SNI on one listener. Built by host/config/translate/gateway-tls.ts; served by the gateway's
// transport (host/listener/transport/gateway-tls.ts).

/** Istio ServerTLSSettings modes wasmesh terminates (PASSTHROUGH and ISTIO_MUTUAL are refused). */
export type GatewayTlsMode = 'SIMPLE' | 'MUTUAL' | 'OPTIONAL_MUTUAL';

/** Node's names for TLS versions (Istio's TLSV1_0 … TLSV1_3). */
export type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** PEM files (paths) of one server's certificate and, for client certificates, its trust bundle. */
export interface GatewayCredential {
  /** The credentialName it came from; null for files named in the Gateway itself. */
  readonly name: string | null;
  readonly certificateChain: string;
  readonly privateKey: string;
  /** Required for MUTUAL and OPTIONAL_MUTUAL; else null. */
  readonly caCertificates: string | null;
  /**
   * The files' contents, set when the control plane sends the gateway over xDS (istiod's SDS
   * secrets, inline here): a proxy then needs no access to the credentials directory.
   */
  readonly inline?: { readonly certificateChain: string; readonly privateKey: string; readonly caCertificates: string | null };
}

export interface GatewayServerTls {
  readonly mode: GatewayTlsMode;
  readonly credential: GatewayCredential;
  /** Default (TLS_AUTO): TLSv1.2 … TLSv1.3, as Envoy's server defaults. */
  readonly minProtocolVersion: TlsVersionName;
  readonly maxProtocolVersion: TlsVersionName;
  /** OpenSSL cipher names; empty: Node's defaults. */
  readonly cipherSuites: readonly string[];
  /** A client certificate must carry one of these (URI or DNS SAN); empty: any from the CA. */
  readonly subjectAltNames: readonly string[];
}

export interface GatewayServer {
  /** `<gateway ns>/<gateway name>/<index>` or the server's own name. */
  readonly name: string;
  /** Lower-case hosts without a namespace part: exact, `*.suffix` or `*`. */
  readonly hosts: readonly string[];
  /** null: plaintext. */
  readonly tls: GatewayServerTls | null;
  /** Plain HTTP answered with 301 to https (a plaintext server only). */
  readonly httpsRedirect: boolean;
}

export interface GatewayListener {
  /** The Gateway's port number (where it listens unless --port-map says otherwise). */
  readonly port: number;
  /** Every server on a port is TLS, or none is. */
  readonly tls: boolean;
  readonly servers: readonly GatewayServer[];
  /**
   * A server on the port has protocol GRPC-Web: Istio gives such a port's chain the grpc_web
   * filter (browsers' gRPC-Web translated to gRPC). Absent: false.
   */
  readonly grpcWeb?: boolean;
}

/**
 * The listener of Gateway port `port` in `mesh` (`auto`: the lowest port), or null when the mesh
 * has none for it (not gateway mode, or no such port: served as plaintext routes).
 */
export function gatewayListenerFor(mesh: { readonly gatewayListeners?: readonly GatewayListener[] }, port: number | 'auto'): GatewayListener | null {
  const all = mesh.gatewayListeners ?? [];
  if (port === 'auto') return all.reduce<GatewayListener | null>((lowest, l) => (lowest === null || l.port < lowest.port ? l : lowest), null);
  return all.find((l) => l.port === port) ?? null;
}
