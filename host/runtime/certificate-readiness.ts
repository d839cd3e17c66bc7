// Readiness of a proxy that has a workload identity: it is not ready while it holds no workload
// certificate (none issued yet, or the one it had expired without a renewal), because TLS that
// needs the certificate would be refused: probes and load balancers should not send it traffic.
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';

export class CertificateReadiness {
  readonly #source: WorkloadCertificateSource;
  readonly #unsubscribe: () => void;
  #issued: boolean;

  constructor(source: WorkloadCertificateSource) {
    this.#source = source;
    this.#issued = source.current() !== null;
    this.#unsubscribe = source.subscribe(() => (this.#issued = true));
  }

  /** null while a certificate is held; else why the proxy is not ready. */
  notReadyReason(): string | null {
    if (this.#source.current() !== null) return null;
    return this.#issued ? 'workload certificate expired and not yet renewed' : 'workload certificate not yet issued';
  }

  close(): void {
    this.#unsubscribe();
  }
}
