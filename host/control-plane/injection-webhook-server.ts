// The control plane's sidecar injection webhook over HTTPS, as istiod serves it (port 15017, 443
// in its Service, path `/inject`): the API server POSTs an AdmissionReview v1 and gets the answer
// of host/kube/injection-webhook.ts. The serving certificate is either issued by the control
// plane's CA for the webhook's DNS names and addresses (renewed at half life; the CA's roots are
// the MutatingWebhookConfiguration's caBundle) or read from files (`--webhook-cert/--webhook-key`).
//
// HTTP errors, as istiod's serveInject: no body → 400, a content type other than
// application/json → 415, a path other than /inject (or /inject/…) → 404, a method other than
// POST → 405; a body over 4 MiB → 413 (the API server's own request limit is 3 MiB). A body that
// is not JSON is answered 200 with a denying AdmissionReview, as istiod answers a decode error.
import { servingHostNames } from '../identity/serving-names.js';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reviewAdmission, type AdmissionReviewOut } from '../kube/injection-webhook.js';
import type { InjectDefaults } from '../kube/injection-settings.js';
import type { CertificateAuthority } from '../identity/certificate-authority.js';
import { spiffeId } from '../identity/spiffe-id.js';

export const INJECT_PATH = '/inject';
export const DEFAULT_WEBHOOK_PORT = 15017;
export const MAX_REVIEW_BYTES = 4 * 1024 * 1024;
/** The names istiod's webhook certificate carries (its Service). */
export const WEBHOOK_SERVICE_NAMES: readonly string[] = ['istiod.istio-system.svc', 'istiod.istio-system.svc.cluster.local'];

/** istiod's injection metrics (sidecar_injection_*). */
export const WEBHOOK_STATS = ['sidecar_injection_requests_total', 'sidecar_injection_success_total', 'sidecar_injection_skip_total', 'sidecar_injection_failure_total'] as const;
export type WebhookStatName = (typeof WEBHOOK_STATS)[number];

export type WebhookTls =
  | { kind: 'ca'; ca: CertificateAuthority; names: readonly string[] }
  | { kind: 'files'; certPem: string; keyPem: string };

export interface InjectionWebhookOptions {
  defaults: InjectDefaults;
  tls: WebhookTls;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class InjectionWebhookServer {
  readonly #opts: InjectionWebhookOptions;
  readonly #stats = new Map<WebhookStatName, number>(WEBHOOK_STATS.map((s) => [s, 0]));
  #server: Server | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(opts: InjectionWebhookOptions) {
    this.#opts = opts;
  }

  /** With the CA: PEM of its roots, the configuration's caBundle (base64 of it); null with files (the user knows their issuer). */
  get caBundlePem(): string | null {
    return this.#opts.tls.kind === 'ca' ? this.#opts.tls.ca.rootsPem.join('') : null;
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  stats(): Record<WebhookStatName, number> {
    return Object.fromEntries(this.#stats) as Record<WebhookStatName, number>;
  }

  /** Issues (or loads) the serving certificate and listens. Rejects on a bind or certificate error. */
  async listen(host: string, port: number): Promise<number> {
    const tls = this.#opts.tls;
    let first: { key: string; cert: string };
    if (tls.kind === 'files') first = { key: tls.keyPem, cert: tls.certPem };
    else {
      const names = [...WEBHOOK_SERVICE_NAMES, ...servingHostNames(host), ...tls.names];
      const identity = spiffeId('istio-system', 'istiod', tls.ca.trustDomain);
      const issue = async (): Promise<{ key: string; cert: string }> => {
        const c = await tls.ca.issueServing(names, identity);
        this.#schedule(Math.max(1000, (c.notAfter.getTime() - Date.now()) / 2), issue);
        return { key: c.keyPem, cert: c.certChainPem };
      };
      first = await issue();
    }
    const server = createServer({ key: first.key, cert: first.cert }, (req, res) => this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return this.port;
  }

  #schedule(delayMs: number, issue: () => Promise<{ key: string; cert: string }>): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      issue().then(
        (c) => this.#server?.setSecureContext({ key: c.key, cert: c.cert }),
        (err) => {
          this.#opts.log?.('error', `injection webhook: renewing the serving certificate failed, retrying in 1 s: ${(err as Error).message}`);
          this.#schedule(1000, issue);
        },
      );
    }, delayMs);
    this.#timer.unref();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const plain = (code: number, text: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain' }).end(`${text}\n`);
    };
    if (path !== INJECT_PATH && !path.startsWith(`${INJECT_PATH}/`)) return plain(404, `not found: the injection webhook serves POST ${INJECT_PATH}`);
    if (req.method !== 'POST') return plain(405, `method ${req.method} not allowed: POST an AdmissionReview`);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/json') return plain(415, `invalid Content-Type "${type}", want application/json`);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (b: Buffer) => {
      if (over) return;
      size += b.length;
      if (size > MAX_REVIEW_BYTES) {
        over = true;
        // `connection: close` so the client does not reuse a socket cut when the answer is out.
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`AdmissionReview larger than ${MAX_REVIEW_BYTES} bytes\n`);
        res.once('finish', () => req.destroy());
        return;
      }
      chunks.push(b);
    });
    req.on('end', () => {
      if (over) return;
      if (size === 0) return plain(400, 'no body found');
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        parsed = Symbol('unreadable');
        this.#opts.log?.('warn', `injection webhook: could not decode body: ${(err as Error).message}`);
      }
      const { review, outcome } = reviewAdmission(typeof parsed === 'symbol' ? 'not JSON' : parsed, this.#opts.defaults);
      this.#count(outcome.kind);
      if (outcome.kind === 'injected') this.#opts.log?.('info', `injection webhook: injected pod ${outcome.pod}`);
      else if (outcome.kind === 'denied') this.#opts.log?.('warn', `injection webhook: pod ${outcome.pod} denied: ${outcome.reason}`);
      this.#reply(res, review);
    });
  }

  #count(kind: 'injected' | 'skipped' | 'denied'): void {
    const bump = (s: WebhookStatName): void => void this.#stats.set(s, this.#stats.get(s)! + 1);
    bump('sidecar_injection_requests_total');
    bump(kind === 'injected' ? 'sidecar_injection_success_total' : kind === 'skipped' ? 'sidecar_injection_skip_total' : 'sidecar_injection_failure_total');
  }

  #reply(res: ServerResponse, review: AdmissionReviewOut): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(review));
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
