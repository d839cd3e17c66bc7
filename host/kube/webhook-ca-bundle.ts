// The control plane keeps its MutatingWebhookConfiguration's `caBundle` equal to its CA's roots,
// as istiod's webhook controller does (pkg/webhooks/webhookpatch.go): the configuration named
// `istio-sidecar-injector` (istiod's INJECTION_WEBHOOK_CONFIG_NAME; `--webhook-config-name`) is
// watched by name, and whenever one of its webhooks named `*.sidecar-injector.istio.io` carries
// another caBundle (a fresh `kubectl apply` with none, a CA rotated, an edit) it is patched back.
// The patch is a JSON Patch guarded by a `test` of the resourceVersion read, so a concurrent
// change is not overwritten (409/422: read again through the watch). The configuration itself is
// not created: `wasmesh install --webhook-only` (or the full install) makes it; until it exists
// that is said once and nothing is patched.
import type { KubeApi } from './kube-api.js';
import { KubeApiError } from './kube-api.js';
import { WEBHOOK_CONFIG_NAME } from './injection-webhook-config.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { Reflector } from './reflector.js';

/** istiod patches the webhooks whose name ends so (its webhookName suffix). */
const WEBHOOK_NAME_SUFFIX = '.sidecar-injector.istio.io';
const PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface WebhookCaBundleOptions {
  api: KubeApi;
  /** PEM of the roots the webhook's serving certificate chains to. */
  rootPem: () => string;
  /** Default istio-sidecar-injector. */
  name?: string;
  log: Log;
  backoff?: { initialMs: number; maxMs: number };
}

export class WebhookCaBundlePatcher {
  readonly #o: WebhookCaBundleOptions;
  readonly name: string;
  readonly #configs: Reflector;
  readonly #loop: ReconcileLoop;
  #saidMissing = false;
  readonly stats = { patches: 0, conflicts: 0 };

  constructor(opts: WebhookCaBundleOptions) {
    this.#o = opts;
    this.name = opts.name ?? WEBHOOK_CONFIG_NAME;
    this.#loop = new ReconcileLoop({ name: `kube: MutatingWebhookConfiguration ${this.name} caBundle`, pass: () => this.#pass(), log: opts.log, ...(opts.backoff ? { backoff: opts.backoff } : {}) });
    this.#configs = new Reflector(opts.api, {
      path: PATH,
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      selector: { fieldSelector: `metadata.name=${this.name}` },
      onChange: () => this.#loop.poke(),
      log: opts.log,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
  }

  async start(): Promise<void> {
    await this.#configs.start();
    this.#loop.poke();
  }

  /** The roots changed: check again. */
  poke(): void {
    this.#loop.poke();
  }

  idle(): Promise<void> {
    return this.#loop.idle();
  }

  get lastError(): string | null {
    return this.#loop.lastError;
  }

  async #pass(): Promise<void> {
    const config = this.#configs.objects.get(`/${this.name}`);
    if (config === undefined) {
      if (!this.#saidMissing) this.#o.log('warn', `kube: MutatingWebhookConfiguration ${this.name} does not exist; its caBundle will be set once it is applied (wasmesh install --webhook-only)`);
      this.#saidMissing = true;
      return;
    }
    this.#saidMissing = false;
    const bundle = Buffer.from(this.#o.rootPem()).toString('base64');
    const webhooks = (config.webhooks ?? []) as Array<{ name?: string; clientConfig?: { caBundle?: string } }>;
    const ours = webhooks.map((w, i) => ({ w, i })).filter(({ w }) => (w.name ?? '').endsWith(WEBHOOK_NAME_SUFFIX));
    if (ours.length === 0) throw new Error(`MutatingWebhookConfiguration ${this.name} has no webhook named *${WEBHOOK_NAME_SUFFIX} to patch`);
    const stale = ours.filter(({ w }) => w.clientConfig?.caBundle !== bundle);
    if (stale.length === 0) return;
    const rv = (config.metadata as { resourceVersion?: string }).resourceVersion ?? '';
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: rv },
      ...stale.map(({ i }) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: bundle })),
    ];
    try {
      await this.#o.api.send('PATCH', `${PATH}/${this.name}`, patch, 'application/json-patch+json');
    } catch (err) {
      // Changed since it was read (the test failed: 422, or 409): the watch brings the new one.
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 422)) {
        this.stats.conflicts++;
        return;
      }
      throw err;
    }
    this.stats.patches++;
    this.#o.log('info', `kube: patched the caBundle of MutatingWebhookConfiguration ${this.name} (${stale.map(({ w }) => w.name).join(', ')}) to the mesh CA root`);
  }

  close(): void {
    this.#loop.close();
    this.#configs.close();
  }
}
