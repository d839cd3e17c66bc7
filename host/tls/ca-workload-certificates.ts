// The proxy's workload certificate from the mesh CA: a WorkloadCertificateSource fed by the
// CertificateClient (Istio's CSR API with the workload's token). The client asks for the first
// certificate, renews at half life and, while the CA is away, keeps the one it has and retries with
// backoff; this source puts each certificate it gets in a WorkloadCertificateCell, and when one
// expires without a renewal it clears the cell (fail closed: TLS that needs it refuses, never
// plaintext) and logs why, with the last error the CA gave.
import { CertificateClient, type CertificateClientOptions, type Svid } from '../identity/certificate-client.js';
import { formatSpiffeId } from '../identity/spiffe-id.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from './workload-certificate.js';
import { WorkloadCertificateCell } from './workload-certificate-cell.js';

export type CaWorkloadCertificatesOptions = CertificateClientOptions;

/** The WorkloadCertificate a CA-issued SVID is served as. */
export function svidCertificate(svid: Svid): WorkloadCertificate {
  return {
    identity: formatSpiffeId(svid.identity),
    certChainPem: svid.certChainPem,
    keyPem: svid.keyPem,
    rootsPem: svid.rootsPem.join(''),
    notAfter: svid.notAfter,
  };
}

export class CaWorkloadCertificates implements WorkloadCertificateSource {
  readonly #cell = new WorkloadCertificateCell();
  readonly #client: CertificateClient;
  readonly #opts: CaWorkloadCertificatesOptions;
  #lastError: Error | null = null;
  #started = false;

  get trustDomain(): string {
    return this.#opts.identity.trustDomain;
  }

  /** Throws IdentityError when the trust bundle holds no certificate; nothing is asked before start(). */
  constructor(opts: CaWorkloadCertificatesOptions) {
    this.#opts = opts;
    this.#client = new CertificateClient(opts);
    this.#client.on('rotated', (svid) => {
      this.#lastError = null;
      try {
        this.#cell.set(svidCertificate(svid));
      } catch (err) {
        // A subscriber's fault, not the CA's: the client must not take it for a failed request.
        opts.log?.('error', `workload certificate serial ${svid.serial}: a subscriber failed to take it: ${(err as Error).message}`);
      }
    });
    this.#client.on('renewal-failed', (err) => (this.#lastError = err));
    this.#client.on('expired', (svid) => {
      this.#cell.clear();
      const why = this.#lastError ? `the CA at ${opts.address} did not renew it: ${this.#lastError.message}` : `no renewal came from the CA at ${opts.address}`;
      opts.log?.('error', `workload certificate for ${formatSpiffeId(svid.identity)} (serial ${svid.serial}) expired at ${svid.notAfter.toISOString()}; ${why}. TLS that needs it is refused (never plaintext) until a new one is issued`);
    });
  }

  /**
   * Starts asking the CA (retrying until it answers). Resolves with the first certificate; rejects
   * only when closed before one came. Callers that need not wait may ignore the promise.
   */
  start(): Promise<WorkloadCertificate> {
    if (this.#started) return Promise.reject(new Error('wasmesh: the workload certificate source was started already'));
    this.#started = true;
    this.#opts.log?.('info', `workload certificate: asking the CA at ${this.#opts.address} for ${formatSpiffeId(this.#opts.identity)}`);
    const first = this.#client.start().then(svidCertificate);
    // Closing before the first certificate is a normal stop, not an unhandled rejection.
    first.catch(() => {});
    return first;
  }

  current(): WorkloadCertificate | null {
    return this.#client.current() === null ? null : this.#cell.current();
  }

  subscribe(listener: (cert: WorkloadCertificate) => void): () => void {
    return this.#cell.subscribe(listener);
  }

  close(): void {
    this.#client.close();
    this.#cell.clear();
  }
}
