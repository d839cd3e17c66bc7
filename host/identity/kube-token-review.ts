// Kubernetes service-account tokens as CA credentials (issue 16): the token a pod's projected
// `istio-token` volume holds is sent to the API server as a TokenReview
// (POST /apis/authentication.k8s.io/v1/tokenreviews, spec.audiences ["istio-ca"]), as istiod's
// Kubernetes authenticator does; an authenticated `system:serviceaccount:<ns>:<sa>` is the caller.
// The control plane authenticates that request with its own kube credentials (it needs `create`
// on tokenreviews: system:auth-delegator). Positive answers are cached briefly, bounded, keyed by
// the token's SHA-256; a failed or unreachable API server refuses (token_review_unavailable), never
// issues. Speaks plain node https: one JSON POST needs no client library.
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { IdentityError } from './identity-error.js';
import { TOKEN_AUDIENCE, type TokenIdentity } from './workload-token.js';

/** Where the API server is and how the control plane proves itself to it (a KubeAccess fits). */
export interface KubeEndpoint {
  /** https://host:port (http:// for tests). */
  readonly server: string;
  readonly ca?: string;
  readonly insecureSkipTlsVerify: boolean;
  /** The control plane's bearer token now (re-read per call when it comes from a file). */
  readonly token?: () => string;
  readonly cert?: string;
  readonly key?: string;
}

export interface KubeTokenReviewOptions {
  /** The audience the token must be for (Istio's `istio-ca`). */
  readonly audience?: string;
  /** How long a positive answer is reused at most (it never outlives the token's exp). Default 60 s. */
  readonly cacheTtlMs?: number;
  /** How many answers are cached at most (oldest dropped first). Default 10,000. */
  readonly cacheMax?: number;
  /** Per-request deadline to the API server. Default 5 s. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

export const TOKEN_REVIEW_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The unverified `exp` of a JWT (seconds), to bound the cache; null when it has none. */
function unverifiedExp(token: string): number | null {
  const p = token.split('.')[1];
  if (p === undefined) return null;
  try {
    const exp = (JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

export class KubeTokenReviewer {
  readonly #endpoint: KubeEndpoint;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #audience: string;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  /** token SHA-256 (hex) → identity and until when it is reused. Insertion order = age. */
  readonly #cache = new Map<string, { id: TokenIdentity; until: number }>();
  /** TokenReviews sent (cache misses), for tests and the log. */
  reviews = 0;

  constructor(endpoint: KubeEndpoint, opts: KubeTokenReviewOptions = {}) {
    this.#endpoint = endpoint;
    const tls = endpoint.server.startsWith('https:');
    this.#agent = tls
      ? new HttpsAgent({ keepAlive: true, ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}), ...(endpoint.cert !== undefined ? { cert: endpoint.cert, key: endpoint.key } : {}), rejectUnauthorized: !endpoint.insecureSkipTlsVerify })
      : new HttpAgent({ keepAlive: true });
    this.#audience = opts.audience ?? TOKEN_AUDIENCE;
    this.#ttlMs = opts.cacheTtlMs ?? 60_000;
    this.#max = opts.cacheMax ?? 10_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#now = opts.now ?? Date.now;
  }

  /** How many answers are cached now. */
  get cached(): number {
    return this.#cache.size;
  }

  /**
   * The identity the API server says `token` is; throws IdentityError: token_review_refused (not
   * authenticated, wrong audience, not a service account) or token_review_unavailable (the API
   * server unreachable, slow, or answering other than 201 with a TokenReview).
   */
  async review(token: string): Promise<TokenIdentity> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.until > now) return hit.id;
      this.#cache.delete(key);
    }
    this.reviews++;
    const body = await this.#post({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#audience] } });
    const status = (body.status ?? {}) as { authenticated?: boolean; error?: string; audiences?: string[]; user?: { username?: string } };
    if (status.authenticated !== true) {
      throw new IdentityError('token_review_refused', `token refused by the Kubernetes API server (TokenReview): not authenticated${status.error ? `: ${status.error}` : ''}`);
    }
    // An API server that ignores spec.audiences answers without status.audiences: refused, as istiod does.
    if (!Array.isArray(status.audiences) || !status.audiences.includes(this.#audience)) {
      throw new IdentityError('token_review_refused', `token refused (TokenReview): authenticated for audiences ${JSON.stringify(status.audiences ?? null)}, not "${this.#audience}"`);
    }
    const username = status.user?.username ?? '';
    const m = SERVICE_ACCOUNT_USER.exec(username);
    if (!m) throw new IdentityError('token_review_refused', `token refused (TokenReview): user "${username}" is not a service account (system:serviceaccount:<namespace>:<name>)`);
    const id: TokenIdentity = { namespace: m[1]!, serviceAccount: m[2]! };
    const exp = unverifiedExp(token);
    const until = Math.min(now + this.#ttlMs, exp !== null ? exp * 1000 : now + this.#ttlMs);
    if (until > now) {
      while (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, { id, until });
    }
    return id;
  }

  #post(payload: unknown): Promise<Record<string, unknown>> {
    const unavailable = (why: string): IdentityError => new IdentityError('token_review_unavailable', `cannot verify the Kubernetes token: ${why} (TokenReview at ${this.#endpoint.server}); refused, never issued unverified`);
    return new Promise((resolve, reject) => {
      const text = JSON.stringify(payload);
      let auth: string | undefined;
      try {
        auth = this.#endpoint.token?.();
      } catch (err) {
        return reject(unavailable(`the control plane's own kube token cannot be read: ${(err as Error).message}`));
      }
      const req = (this.#endpoint.server.startsWith('https:') ? httpsRequest : httpRequest)(`${this.#endpoint.server}${TOKEN_REVIEW_PATH}`, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'wasmesh-control-plane', ...(auth !== undefined ? { authorization: `Bearer ${auth}` } : {}) },
        timeout: this.#timeoutMs,
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('error', (err) => reject(unavailable(err.message)));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          let parsed: Record<string, unknown> | null = null;
          try {
            parsed = JSON.parse(data) as Record<string, unknown>;
          } catch {
            parsed = null;
          }
          if (code !== 200 && code !== 201) {
            const message = typeof parsed?.message === 'string' ? parsed.message : data.slice(0, 200);
            const hint = code === 403 ? ' (the control plane needs `create` on tokenreviews: bind it to system:auth-delegator)' : '';
            return reject(unavailable(`the API server answered ${code}: ${message}${hint}`));
          }
          if (parsed === null || parsed.kind !== 'TokenReview') return reject(unavailable(`the API server answered ${code} without a TokenReview`));
          resolve(parsed);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(unavailable(err.message)));
      req.end(text);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
