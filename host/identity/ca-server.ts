// istiod's CA endpoint: `istio.v1.auth.IstioCertificateService/CreateCertificate` over TLS gRPC
// (15012). The caller proves its identity with `authorization: Bearer <token>` as Istio's agent
// sends it; the CSR must ask for exactly that identity. The server's own certificate comes from the
// same CA (SAN istiod.istio-system.svc and the address it listens on) and is renewed at half life.
import { servingHostNames } from './serving-names.js';
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { CertificateAuthority, ServingCertificate } from './certificate-authority.js';
import { IdentityError, type IdentityErrorCode } from './identity-error.js';
import { istioCaPackage, type IstioCertificateRequest, type IstioCertificateResponse } from './istio-ca-proto.js';
import { formatSpiffeId, parseSpiffeId, spiffeId, type SpiffeId } from './spiffe-id.js';
import { verifyToken, type TokenIdentity } from './workload-token.js';
import { formatHostPort } from '../common/host-port.js';

/** The name Istio's agent dials the CA by (and checks the serving certificate for). */
export const ISTIOD_SERVICE_NAME = 'istiod.istio-system.svc';

/** Istio's citadel_server_* counters, declared once. */
const CA_STATS = [
  'csr_count',
  'authentication_failure_count',
  'csr_parsing_err_count',
  'id_extraction_err_count',
  'csr_sign_err_count',
  'success_cert_issuance_count',
] as const;
export type CaStatName = (typeof CA_STATS)[number];

/** How each refusal maps to a gRPC status and a counter. */
const REFUSAL: Partial<Record<IdentityErrorCode, { status: grpc.status; stat: CaStatName }>> = {
  token_missing: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_invalid: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_signature: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_expired: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_audience: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_issuer: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_review_refused: { status: grpc.status.UNAUTHENTICATED, stat: 'authentication_failure_count' },
  token_review_unavailable: { status: grpc.status.UNAVAILABLE, stat: 'authentication_failure_count' },
  spiffe_id_invalid: { status: grpc.status.UNAUTHENTICATED, stat: 'id_extraction_err_count' },
  csr_invalid: { status: grpc.status.INVALID_ARGUMENT, stat: 'csr_parsing_err_count' },
  ttl_refused: { status: grpc.status.INVALID_ARGUMENT, stat: 'csr_sign_err_count' },
  csr_identity_refused: { status: grpc.status.PERMISSION_DENIED, stat: 'csr_sign_err_count' },
};

/** What grpc-js tells of a call's TLS peer (its AuthContext, not exported by the package). */
export interface PeerAuth {
  readonly sslPeerCertificate?: { readonly raw?: Buffer };
}

export interface CaServerOptions {
  readonly ca: CertificateAuthority;
  /** Public (or private) keys whose tokens are accepted: the control plane's token key. */
  readonly tokenKeys: readonly KeyObject[];
  /**
   * Kubernetes service-account tokens (TokenReview): asked when a token is not the control plane's
   * own (KubeTokenReviewer). Absent: only the control plane's tokens are accepted.
   */
  readonly kubeTokens?: { review(token: string): Promise<TokenIdentity> };
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * Adds other services to the CA's TLS gRPC server before it binds (the control plane's ADS, as
   * istiod serves xDS on 15012), with the CA's caller check for them: `authenticate` returns the
   * caller's SPIFFE ID from the client certificate it presented (a workload certificate of this
   * mesh, chain checked by TLS), else from `authorization: Bearer <token>`; or throws IdentityError.
   */
  readonly alsoServe?: (server: grpc.Server, authenticate: (metadata: grpc.Metadata, auth?: PeerAuth) => Promise<SpiffeId>) => void;
}

/**
 * A gRPC certificate provider serving the control plane's own certificate: issued from the CA on
 * start and again at each half life, so the TLS port never serves an expired certificate.
 */
class ServingIdentity implements grpc.experimental.CertificateProvider {
  #identity: grpc.experimental.IdentityCertificateUpdate | null = null;
  #ca: grpc.experimental.CaCertificateUpdate;
  readonly #identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  #timer: NodeJS.Timeout | null = null;

  constructor(rootsPem: string) {
    this.#ca = { caCertificate: Buffer.from(rootsPem) };
  }

  set(cert: ServingCertificate): void {
    this.#identity = { certificate: Buffer.from(cert.certChainPem), privateKey: Buffer.from(cert.keyPem) };
    for (const l of this.#identityListeners) l(this.#identity);
  }

  scheduleRenewal(delayMs: number, renew: () => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(renew, delayMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  // Current values are delivered on the next tick, never inside add…Listener: grpc-js registers
  // its own watcher only after adding the listener, and a synchronous update would be lost.
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    queueMicrotask(() => l(this.#ca));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.add(l);
    queueMicrotask(() => {
      if (this.#identity && this.#identityListeners.has(l)) l(this.#identity);
    });
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.delete(l);
  }
}

export class CaServer {
  readonly #opts: CaServerOptions;
  readonly #server = new grpc.Server();
  readonly #stats = new Map<CaStatName, number>(CA_STATS.map((s) => [s, 0]));
  #serving: ServingIdentity | null = null;
  #port = 0;

  constructor(opts: CaServerOptions) {
    this.#opts = opts;
    const pkg = grpc.loadPackageDefinition(istioCaPackage()) as unknown as {
      istio: { v1: { auth: { IstioCertificateService: { service: grpc.ServiceDefinition } } } };
    };
    this.#server.addService(pkg.istio.v1.auth.IstioCertificateService.service, {
      CreateCertificate: (call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, callback: grpc.sendUnaryData<IstioCertificateResponse>) => {
        this.#createCertificate(call).then((r) => callback(null, r), (err: { code: grpc.status; details: string }) => callback(err));
      },
    });
    opts.alsoServe?.(this.#server, async (metadata, auth) => this.#peerIdentity(auth) ?? this.#authenticate(metadata));
  }

  /** The bound port (after listen). */
  get port(): number {
    return this.#port;
  }

  /** The control plane's own identity: spiffe://<td>/ns/istio-system/sa/istiod, as istiod's. */
  get identity(): SpiffeId {
    return spiffeId('istio-system', 'istiod', this.#opts.ca.trustDomain);
  }

  stats(): Record<CaStatName, number> {
    return Object.fromEntries(this.#stats) as Record<CaStatName, number>;
  }

  /**
   * Issues the serving certificate (SANs: istiod.istio-system.svc, `host`, and loopback names of
   * both families when `host` is a wildcard: serving-names.ts) and listens with TLS on host:port. Rejects when the port cannot be bound.
   */
  async listen(host: string, port: number, extraNames: readonly string[] = []): Promise<void> {
    const names = [ISTIOD_SERVICE_NAME, ...servingHostNames(host), ...extraNames];
    const serving = new ServingIdentity(this.#opts.ca.rootsPem.join(''));
    this.#serving = serving;
    const renew = async (): Promise<void> => {
      const cert = await this.#opts.ca.issueServing(names, this.identity);
      serving.set(cert);
      // Half life, as every workload certificate: a restart-free control plane never serves an expired one.
      later(Math.max(1000, (cert.notAfter.getTime() - Date.now()) / 2));
    };
    const later = (delayMs: number): void =>
      serving.scheduleRenewal(delayMs, () => {
        renew().catch((err) => {
          this.#opts.log?.('error', `CA: renewing the serving certificate failed, retrying in 1 s: ${(err as Error).message}`);
          later(1000);
        });
      });
    await renew();
    // The roots are offered so that a client may present a workload certificate (mTLS later); none is required.
    const creds = grpc.experimental.createCertificateProviderServerCredentials(serving, serving, false);
    const address = formatHostPort(host, port);
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(address, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
    });
  }

  async close(): Promise<void> {
    this.#serving?.stop();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  async #createCertificate(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>): Promise<IstioCertificateResponse> {
    this.#count('csr_count');
    const peer = call.getPeer();
    try {
      const caller = await this.#authenticate(call.metadata);
      const seconds = Number(call.request.validity_duration ?? 0);
      const issued = await this.#opts.ca.sign(call.request.csr ?? '', caller, Number.isFinite(seconds) ? seconds * 1000 : NaN);
      this.#count('success_cert_issuance_count');
      this.#opts.log?.('info', `CA: issued ${formatSpiffeId(caller)} serial ${issued.leaf.serialNumber} until ${issued.leaf.notAfter.toISOString()} to ${peer}`);
      // Istio's order: leaf, intermediates, then the roots (concatenated in one entry); and the bundle apart.
      return { cert_chain: [...issued.chainPem, issued.rootsPem.join('')], root_cert: { ca_cert: [...issued.rootsPem] } };
    } catch (err) {
      const refusal = err instanceof IdentityError ? REFUSAL[err.code] : undefined;
      const status = refusal?.status ?? grpc.status.INTERNAL;
      this.#count(refusal?.stat ?? 'csr_sign_err_count');
      const details = err instanceof Error ? err.message : String(err);
      this.#opts.log?.('warn', `CA: refused a certificate request from ${peer}: ${details}`);
      throw { code: status, details };
    }
  }

  /**
   * The SPIFFE ID of a client certificate TLS verified against the roots (grpc-js shows the peer
   * certificate only when the socket is authorized), or null when none was presented or it names
   * no identity of this trust domain; then the token decides. As istiod, which tries the client
   * certificate first and the token next.
   */
  #peerIdentity(auth: PeerAuth | undefined): SpiffeId | null {
    const raw = auth?.sslPeerCertificate?.raw;
    if (!raw) return null;
    let uris: string[];
    try {
      uris = (new X509Certificate(raw).subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
    } catch {
      return null;
    }
    if (uris.length !== 1) return null;
    try {
      const id = parseSpiffeId(uris[0]!);
      return id.trustDomain === this.#opts.ca.trustDomain ? id : null;
    } catch {
      return null;
    }
  }

  /**
   * The identity of `authorization: Bearer <token>`; rejects with IdentityError. The control
   * plane's own token is tried first (local, no round trip); with kubeTokens, a token that is not
   * one of its own (not ES256 with its key id) goes to the API server, as istiod tries its
   * authenticators in turn.
   */
  async #authenticate(metadata: grpc.Metadata): Promise<SpiffeId> {
    const values = metadata.get('authorization');
    const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : null;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new IdentityError('token_missing', values.length === 0 ? 'no authorization metadata: send `authorization: Bearer <token>`' : 'authorization metadata is not one `Bearer <token>`');
    let identity: TokenIdentity;
    try {
      identity = verifyToken(m[1]!, this.#opts.tokenKeys);
    } catch (err) {
      const kube = this.#opts.kubeTokens;
      // Only a token that is not ours by its signature goes to the API server: an expired or
      // wrong-audience token of the control plane is refused for that reason.
      const notOurs = err instanceof IdentityError && (err.code === 'token_signature' || err.code === 'token_invalid');
      if (!kube || !notOurs) throw err;
      identity = await kube.review(m[1]!);
    }
    return spiffeId(identity.namespace, identity.serviceAccount, this.#opts.ca.trustDomain);
  }

  #count(stat: CaStatName): void {
    this.#stats.set(stat, this.#stats.get(stat)! + 1);
  }
}
