// A proxy's side of Istio's CSR API, as Istio's agent does it: make a key, send a CSR for the
// workload's SPIFFE ID with the token in `authorization: Bearer`, check the returned chain against
// the trust bundle, and renew at half life. When the CA is away it retries with jittered backoff and
// keeps the certificate it has; the current certificate is replaced only by a new one in hand, and
// an expired one is never handed out as current.
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { ISTIOD_SERVICE_NAME } from './ca-server.js';
import { IdentityError } from './identity-error.js';
import { istioCaPackage, type IstioCertificateRequest, type IstioCertificateResponse } from './istio-ca-proto.js';
import { formatSpiffeId, type SpiffeId } from './spiffe-id.js';
import { createWorkloadCsr } from './workload-csr.js';
import type { KeyAlgorithm } from './x509.js';

/** An X.509 SVID in hand: the key, the chain and the trust bundle it verified against. */
export interface Svid {
  readonly identity: SpiffeId;
  readonly keyPem: string;
  /** Leaf then intermediates, one PEM text (what a TLS server or client presents). */
  readonly certChainPem: string;
  /** The trust bundle the CA returned, one PEM per root. */
  readonly rootsPem: readonly string[];
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateClientOptions {
  /** The CA's host:port (Istio: istiod.istio-system.svc:15012). */
  readonly address: string;
  /** Roots that authenticate the CA's serving certificate and anchor the issued chains (root-cert.pem). */
  readonly rootsPem: string;
  /** The token to present, read on each request (a projected token file may be rewritten). */
  readonly token: () => string;
  readonly identity: SpiffeId;
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Lifetime to ask for; 0 or absent: the CA's default. */
  readonly ttlMs?: number;
  /** The name the CA's certificate must carry; istiod.istio-system.svc by default. */
  readonly serverName?: string;
  /** Retry backoff: first delay and cap (ms); defaults 1 s and 30 s, each delay jittered. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Deadline of one request; 10 s by default. */
  readonly requestTimeoutMs?: number;
  /** Fraction of the lifetime after which to renew; 0.5 (half life) by default, as Istio's agent. */
  readonly renewAt?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  readonly random?: () => number;
}

/** The client's states: nothing yet, asking for the first certificate, holding one, closed. */
type State = 'idle' | 'fetching' | 'holding' | 'closed';

export interface CertificateClientEvents {
  /** A new certificate replaced `previous` (null for the first). */
  rotated: [svid: Svid, previous: Svid | null];
  /** A request failed; the next try is in `retryInMs`; the current certificate (if any) stays. */
  'renewal-failed': [error: Error, attempt: number, retryInMs: number];
  /** The held certificate expired before a new one came: current() is null until one does. */
  expired: [svid: Svid];
}

type CaClient = grpc.Client & {
  CreateCertificate(req: IstioCertificateRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void): void;
};

/** All PEM certificates in `text`, in order. */
function certificatesIn(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

const chainError = (why: string): never => {
  throw new IdentityError('chain_invalid', `certificate from the CA refused: ${why}`);
};

/**
 * Checks a CreateCertificate response for `keyPem` and `identity` against the trusted `anchors`:
 * leaf key is ours, its only URI SAN is our SPIFFE ID, each certificate signed by the next, the last
 * by a trusted root, all valid now. Returns the Svid. Throws IdentityError (chain_invalid).
 */
export function verifyIssuedChain(res: IstioCertificateResponse, keyPem: string, identity: SpiffeId, anchors: readonly X509Certificate[], now = new Date()): Svid {
  const entries = res.cert_chain ?? [];
  if (entries.length === 0) chainError('the response holds no certificate');
  // Istio's layout: the roots come apart in root_cert, or as the last cert_chain entry.
  const bundle = res.root_cert?.ca_cert?.length ? res.root_cert.ca_cert : [entries[entries.length - 1]!];
  const chainEntries = res.root_cert?.ca_cert?.length ? entries : entries.slice(0, -1);
  let chain: X509Certificate[];
  let roots: X509Certificate[];
  try {
    chain = chainEntries.flatMap(certificatesIn);
    roots = bundle.flatMap(certificatesIn);
  } catch (err) {
    return chainError(`a certificate does not parse: ${(err as Error).message}`);
  }
  // A CA whose signing certificate is the root sends the leaf alone before the roots.
  const rootDer = new Set(roots.map((r) => r.raw.toString('base64')));
  chain = chain.filter((c) => !rootDer.has(c.raw.toString('base64')));
  if (chain.length === 0) chainError('no leaf certificate before the roots');
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) chainError('the leaf does not certify the key this proxy generated');
  const want = `URI:${formatSpiffeId(identity)}`;
  const sans = (leaf.subjectAltName ?? '').split(', ').filter((s) => s !== '');
  if (sans.length !== 1 || sans[0] !== want) chainError(`the leaf names ${sans.join(', ') || 'nothing'}, not ${want}`);
  if (leaf.ca) chainError('the leaf is a CA certificate');
  for (const c of chain) {
    if (now.getTime() < Date.parse(c.validFrom) || now.getTime() >= Date.parse(c.validTo)) chainError(`${c.subject || 'the leaf'} is not valid now (${c.validFrom} – ${c.validTo})`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) chainError(`certificate ${i + 1} is not signed by certificate ${i + 2} of the chain`);
  }
  const top = chain[chain.length - 1]!;
  if (!anchors.some((a) => top.checkIssued(a) && top.verify(a.publicKey))) chainError('the chain does not lead to a root this proxy trusts');
  return {
    identity,
    keyPem,
    certChainPem: chain.map((c) => c.toString()).join(''),
    rootsPem: roots.map((r) => r.toString()),
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
  };
}

export class CertificateClient extends EventEmitter<CertificateClientEvents> {
  readonly #opts: CertificateClientOptions;
  readonly #client: CaClient;
  readonly #anchors: X509Certificate[];
  #state: State = 'idle';
  #current: Svid | null = null;
  #timer: NodeJS.Timeout | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;
  #attempt = 0;
  #first: { resolve(s: Svid): void; reject(e: Error): void } | null = null;

  constructor(opts: CertificateClientOptions) {
    super();
    this.#opts = opts;
    this.#anchors = certificatesIn(opts.rootsPem);
    if (this.#anchors.length === 0) throw new IdentityError('chain_invalid', 'the trust bundle given to the certificate client holds no certificate');
    const pkg = grpc.loadPackageDefinition(istioCaPackage()) as unknown as {
      istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
    };
    const serverName = opts.serverName ?? ISTIOD_SERVICE_NAME;
    this.#client = new pkg.istio.v1.auth.IstioCertificateService(opts.address, grpc.credentials.createSsl(Buffer.from(opts.rootsPem)), {
      // Dial an address, check the certificate for the CA's service name, as Istio's agent does.
      'grpc.ssl_target_name_override': serverName,
      'grpc.default_authority': serverName,
      // The channel's own reconnect backoff follows ours, so a CA that comes back is reached on the next try.
      'grpc.initial_reconnect_backoff_ms': opts.backoff?.baseMs ?? 1000,
      'grpc.max_reconnect_backoff_ms': opts.backoff?.maxMs ?? 30_000,
    }) as unknown as CaClient;
  }

  get state(): State {
    return this.#state;
  }

  /** The certificate to use now, or null when there is none or the one held has expired. */
  current(): Svid | null {
    const c = this.#current;
    return c !== null && Date.now() < c.notAfter.getTime() ? c : null;
  }

  /** Asks for the first certificate, retrying until one comes (or close()); resolves with it. */
  start(): Promise<Svid> {
    if (this.#state !== 'idle') return Promise.reject(new Error(`certificate client already ${this.#state}`));
    this.#state = 'fetching';
    const first = new Promise<Svid>((resolve, reject) => (this.#first = { resolve, reject }));
    this.#schedule(0);
    return first;
  }

  close(): void {
    this.#state = 'closed';
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#timer = this.#expiryTimer = null;
    this.#first?.reject(new Error('certificate client closed before a certificate was issued'));
    this.#first = null;
    this.#client.close();
  }

  #schedule(delayMs: number): void {
    if (this.#state === 'closed') return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fetch(), Math.max(0, delayMs));
  }

  async #fetch(): Promise<void> {
    this.#timer = null;
    try {
      const svid = await this.#request();
      if (this.#state === 'closed') return;
      const previous = this.#current;
      // The swap happens only here, with the new certificate verified and in hand.
      this.#current = svid;
      this.#state = 'holding';
      this.#attempt = 0;
      this.#watchExpiry(svid);
      const lifetime = svid.notAfter.getTime() - svid.notBefore.getTime();
      const renewAt = svid.notBefore.getTime() + lifetime * (this.#opts.renewAt ?? 0.5);
      this.#opts.log?.('info', `certificate for ${formatSpiffeId(svid.identity)} serial ${svid.serial} until ${svid.notAfter.toISOString()}; renewing at ${new Date(renewAt).toISOString()}`);
      this.#schedule(renewAt - Date.now());
      this.#first?.resolve(svid);
      this.#first = null;
      this.emit('rotated', svid, previous);
    } catch (err) {
      if (this.#state === 'closed') return;
      const { baseMs, maxMs } = this.#opts.backoff ?? { baseMs: 1000, maxMs: 30_000 };
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(this.#attempt, 30));
      // Jittered: between half and all of the ceiling, so proxies that lost the same CA spread out.
      const delay = Math.round(ceiling * (0.5 + 0.5 * (this.#opts.random ?? Math.random)()));
      this.#attempt++;
      const error = err instanceof Error ? err : new Error(String(err));
      this.#opts.log?.('warn', `certificate request failed (attempt ${this.#attempt}, retrying in ${delay} ms${this.current() ? ', keeping the current certificate' : ''}): ${error.message}`);
      this.emit('renewal-failed', error, this.#attempt, delay);
      this.#schedule(delay);
    }
  }

  #watchExpiry(svid: Svid): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = null;
      if (this.#current === svid && this.#state !== 'closed') {
        this.#opts.log?.('error', `certificate serial ${svid.serial} expired at ${svid.notAfter.toISOString()} before a new one was issued; none is served until one is`);
        this.emit('expired', svid);
      }
    }, Math.max(0, svid.notAfter.getTime() - Date.now()));
    this.#expiryTimer.unref();
  }

  async #request(): Promise<Svid> {
    const { csrPem, keyPem } = await createWorkloadCsr(this.#opts.identity, this.#opts.keyAlgorithm);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.#opts.token().trim()}`);
    const req: IstioCertificateRequest = { csr: csrPem, validity_duration: String(Math.ceil((this.#opts.ttlMs ?? 0) / 1000)) };
    const res = await new Promise<IstioCertificateResponse>((resolve, reject) => {
      this.#client.CreateCertificate(req, md, { deadline: Date.now() + (this.#opts.requestTimeoutMs ?? 10_000) }, (err, r) => (err ? reject(err) : resolve(r!)));
    });
    return verifyIssuedChain(res, keyPem, this.#opts.identity, this.#anchors);
  }
}
