// A WorkloadCertificateSource that holds what it is given: the sources that obtain certificates
// (the CA client, mounted files) and the worker threads (which receive PEMs from the main thread)
// put each new certificate here, and the TLS transports read and subscribe to it.
import type { WorkloadCertificate, WorkloadCertificateSource } from './workload-certificate.js';

export class WorkloadCertificateCell implements WorkloadCertificateSource {
  private cert: WorkloadCertificate | null = null;
  private readonly listeners = new Set<(cert: WorkloadCertificate) => void>();

  /**
   * The certificate to serve from now on; every subscriber is told. A listener that throws does
   * not keep the others from hearing of it (the first error is rethrown after all were called).
   */
  set(cert: WorkloadCertificate): void {
    this.cert = cert;
    let first: unknown = null;
    for (const listener of [...this.listeners]) {
      try {
        listener(cert);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }

  /** No certificate any more (expired without renewal): TLS that needs one fails closed. */
  clear(): void {
    this.cert = null;
  }

  current(): WorkloadCertificate | null {
    if (this.cert !== null && this.cert.notAfter.getTime() <= Date.now()) this.cert = null;
    return this.cert;
  }

  subscribe(listener: (cert: WorkloadCertificate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
