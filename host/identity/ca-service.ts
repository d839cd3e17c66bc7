// The control plane's CA as one piece to start and stop: the CA files (generated or plug-in), the
// token key beside them, and the CSR API on its TLS port. The control plane command calls only this.
import type { HostPort } from '../common/host-port.js';
import { CaServer, type CaServerOptions } from './ca-server.js';
import { CertificateAuthority } from './certificate-authority.js';
import { openTokenKey } from './token-key.js';
import type { KeyAlgorithm } from './x509.js';

export interface CaServiceOptions {
  readonly dir: string;
  readonly trustDomain: string;
  readonly certTtlMs?: number;
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly listen: HostPort;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Other services on the CA's TLS port (CaServerOptions.alsoServe). */
  readonly alsoServe?: CaServerOptions['alsoServe'];
  /** Kubernetes service-account tokens accepted beside the control plane's own (CaServerOptions.kubeTokens). */
  readonly kubeTokens?: CaServerOptions['kubeTokens'];
}

export interface CaService {
  readonly ca: CertificateAuthority;
  readonly server: CaServer;
  /** The bound TLS port. */
  readonly port: number;
  /** One line for the start-up log. */
  readonly summary: string;
  close(): Promise<void>;
}

/** Opens the CA in `dir` and serves Istio's CSR API on `listen`. Throws IdentityError or a bind error. */
export async function startCaService(opts: CaServiceOptions): Promise<CaService> {
  const ca = await CertificateAuthority.open({ dir: opts.dir, trustDomain: opts.trustDomain, certTtlMs: opts.certTtlMs, keyAlgorithm: opts.keyAlgorithm });
  const server = new CaServer({ ca, tokenKeys: [openTokenKey(opts.dir)], log: opts.log, alsoServe: opts.alsoServe, ...(opts.kubeTokens !== undefined ? { kubeTokens: opts.kubeTokens } : {}) });
  try {
    await server.listen(opts.listen.host, opts.listen.port);
  } catch (err) {
    await server.close();
    throw new Error(`CA: cannot listen on ${opts.listen.host}:${opts.listen.port} (--secure-listen): ${(err as Error).message}`);
  }
  const origin = ca.generatedRoot ? 'generated a new root' : 'using the CA files';
  return {
    ca,
    server,
    port: server.port,
    summary: `CA for trust domain ${ca.trustDomain} (${origin} in ${opts.dir}; certificates live ${ca.certTtlMs / 1000} s${opts.kubeTokens !== undefined ? '; Kubernetes service-account tokens accepted (TokenReview)' : ''}) on ${opts.listen.host}:${server.port} (TLS, istio.v1.auth.IstioCertificateService)`,
    close: () => server.close(),
  };
}
