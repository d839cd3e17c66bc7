// The workload agent, Istio's pilot-agent's SDS half for stock Envoy: it keeps the workload's
// certificate with a CertificateClient (CSR with the token, renewal at half life, backoff) and
// serves it over SDS on a Unix socket as Istio's `default` and `ROOTCA` secrets. A renewal pushes
// the new `default` to every connected Envoy, which swaps it without a restart. The socket is
// served before the first certificate comes: Envoy's requests wait for it.
import { formatSpiffeId } from '../identity/spiffe-id.js';
import { CertificateClient, type CertificateClientOptions, type Svid } from '../identity/certificate-client.js';
import type { Log } from '../common/log.js';
import { SdsServer } from '../xds/sds-server.js';
import { sdsSecrets } from '../xds/sds-secrets.js';
import { TYPE_URL } from '../xds/envoy-protos.js';

export interface WorkloadAgentOptions {
  /** The certificate to keep: CA address and roots, token, identity, TTL, backoff. */
  readonly certificate: Omit<CertificateClientOptions, 'log'>;
  /** The Unix socket to serve SDS on (socket-path.ts). */
  readonly socketPath: string;
  readonly log?: Log;
}

export class WorkloadAgent {
  readonly client: CertificateClient;
  readonly sds: SdsServer;
  readonly socketPath: string;
  /** Resolves with the first certificate (rejects if the agent closes before one came). */
  readonly firstCertificate: Promise<Svid>;
  readonly #log: Log;
  #started = false;
  #firstStarted: { resolve(s: Svid): void; reject(e: Error): void } | null = null;

  constructor(opts: WorkloadAgentOptions) {
    this.#log = opts.log ?? (() => {});
    this.socketPath = opts.socketPath;
    this.client = new CertificateClient({ ...opts.certificate, log: this.#log });
    const secret = (t: string): boolean => t === TYPE_URL.secret;
    this.sds = new SdsServer({
      connected: (node) => this.#log('info', `SDS: Envoy ${node.id} connected`),
      disconnected: (node) => this.#log('info', `SDS: Envoy ${node.id} disconnected`),
      acked: (node, t, version, ms) => secret(t) && this.#log('info', `SDS: Envoy ${node.id} ACKed secrets version ${version}${ms === null ? '' : ` ${ms} ms after it was sent`}`),
      nacked: (node, t, version, message) => secret(t) && this.#log('warn', `SDS: Envoy ${node.id} refused secrets version ${version}: ${message}`),
      rejected: (node, reason) => this.#log('warn', `SDS: ${node?.id ?? 'a client'}: ${reason}`),
    });
    this.client.on('rotated', (svid, previous) => {
      this.sds.setSecrets(sdsSecrets(svid));
      this.#log('info', `SDS: serving ${formatSpiffeId(svid.identity)} serial ${svid.serial}${previous ? ` (replacing ${previous.serial})` : ''}`);
    });
    // An expired certificate stays with Envoy (SDS cannot take a secret back); peers refuse it, so
    // nothing falls back to plaintext. The client keeps retrying and the next one is pushed.
    this.client.on('expired', (svid) => this.#log('error', `SDS: certificate serial ${svid.serial} expired before a new one was issued; Envoy holds it until one is`));
    this.firstCertificate = new Promise<Svid>((resolve, reject) => (this.#firstStarted = { resolve, reject }));
    // Nobody may be waiting (a command that stops before the first certificate).
    this.firstCertificate.catch(() => {});
  }

  /** Serves the socket, then asks for the first certificate (retrying until it comes). */
  async start(): Promise<void> {
    if (this.#started) throw new Error('workload agent already started');
    this.#started = true;
    await this.sds.listen(this.socketPath);
    this.client.start().then((s) => this.#firstStarted?.resolve(s), (e: Error) => this.#firstStarted?.reject(e));
  }

  /** The certificate served now, or null (none yet, or the one held expired). */
  current(): Svid | null {
    return this.client.current();
  }

  async close(): Promise<void> {
    this.client.close();
    await this.sds.close();
  }
}
