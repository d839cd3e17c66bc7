// A TLS endpoint's hold on the proxy's workload certificate (host/tls/workload-certificate.ts):
// builds the endpoint's secure context from the certificate in hand, rebuilds it when the
// source announces a new one (connections already open keep theirs), and says, per connection,
// whether there is a usable one. While there is none (before the first, after one expired
// unrenewed, or a certificate that could not be loaded) the endpoint fails closed: the caller
// refuses the handshake and counts it; the change of state is logged once, not per connection.
import type { Log } from '../common/log.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from './workload-certificate.js';

export class WorkloadCredential<Context> {
  readonly #source: WorkloadCertificateSource;
  readonly #build: (cert: WorkloadCertificate) => Context;
  readonly #log: Log | undefined;
  readonly #what: string;
  readonly #unsubscribe: () => void;
  #cert: WorkloadCertificate | null = null;
  #context: Context | null = null;
  /** The last state logged: null before any was. */
  #available: boolean | null = null;

  /**
   * `build` makes the endpoint's context from a certificate (it may throw: that certificate is
   * then unusable); `what` names the endpoint in the log (e.g. `downstream tls`).
   */
  constructor(source: WorkloadCertificateSource, build: (cert: WorkloadCertificate) => Context, what: string, log?: Log) {
    this.#source = source;
    this.#build = build;
    this.#what = what;
    this.#log = log;
    this.#unsubscribe = source.subscribe((cert) => this.#load(cert));
    const now = source.current();
    if (now !== null) this.#load(now);
  }

  /**
   * The context for a new connection, or null (fail closed): no certificate now, or the current
   * one could not be loaded. A certificate the source holds but was not announced is loaded here.
   */
  take(): Context | null {
    const now = this.#source.current();
    if (now !== null && now !== this.#cert) this.#load(now);
    const ctx = now === null ? null : this.#context;
    this.#state(ctx !== null, now === null ? 'no workload certificate (none issued yet, or expired without renewal)' : 'the workload certificate could not be loaded');
    return ctx;
  }

  /** The identity (SPIFFE ID) of the certificate in use; null without one. */
  get identity(): string | null {
    return this.#context === null ? null : this.#cert?.identity ?? null;
  }

  close(): void {
    this.#unsubscribe();
  }

  #load(cert: WorkloadCertificate): void {
    this.#cert = cert;
    try {
      this.#context = this.#build(cert);
    } catch (err) {
      this.#context = null;
      this.#log?.('error', `${this.#what}: workload certificate ${cert.identity} unusable: ${(err as Error).message}; handshakes refused until a usable one arrives (TLS_WORKLOAD_CERTIFICATE)`);
      this.#available = false;
      return;
    }
    this.#state(true, '');
  }

  #state(available: boolean, why: string): void {
    if (available === this.#available) return;
    // The first state is logged only when it is bad: a proxy that starts with its certificate says nothing.
    if (available && this.#available !== null) this.#log?.('info', `${this.#what}: workload certificate ${this.#cert?.identity ?? ''} in hand; handshakes served again`);
    if (!available) this.#log?.('warn', `${this.#what}: ${why}; handshakes refused, counted as ssl.workload_certificate_unavailable`);
    this.#available = available;
  }
}
