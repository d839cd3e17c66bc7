// The `istio-ca-root-cert` ConfigMap in every namespace, as istiod's namespace controller keeps
// it (pilot/pkg/serviceregistry/kube/controller/namespacecontroller.go): key `root-cert.pem` =
// the mesh CA's root certificate(s), label `istio.io/config: "true"`. Injected pods mount it
// (kube-inject's `istiod-ca-cert` volume) to verify the control plane. Every namespace gets one
// except those terminating, Kubernetes' own (kube-system, kube-public, kube-node-lease,
// local-path-storage, which istiod also skips) and, with meshConfig discoverySelectors, those not
// discovered. A ConfigMap deleted or edited is put back: the ConfigMaps of that name are watched
// (fieldSelector), and any change to them or to the namespaces runs a reconcile pass.
import type { KubeApi } from './kube-api.js';
import { KubeApiError } from './kube-api.js';
import { IGNORED_NAMESPACES } from './injection-webhook.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { Reflector } from './reflector.js';

export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';
/** Istio's label on the ConfigMaps it writes (CACertNamespaceConfigMapLabel). */
const CONFIG_LABEL = 'istio.io/config';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface RootCertPublisherOptions {
  api: KubeApi;
  /** PEM of the roots (the CA's root-cert.pem). */
  rootPem: () => string;
  /** Namespaces known now: name → the Namespace object (the source's Namespace watch). */
  namespaces: () => ReadonlyMap<string, Record<string, unknown>>;
  /** Whether a namespace is part of the mesh (meshConfig discoverySelectors); default all. */
  discovered?: (namespace: string) => boolean;
  log: Log;
  backoff?: { initialMs: number; maxMs: number };
}

export class RootCertPublisher {
  readonly #o: RootCertPublisherOptions;
  readonly #configMaps: Reflector;
  readonly #loop: ReconcileLoop;
  /** Writes made (created / updated), for status and tests. */
  readonly stats = { created: 0, updated: 0, conflicts: 0 };

  constructor(opts: RootCertPublisherOptions) {
    this.#o = opts;
    this.#loop = new ReconcileLoop({ name: `kube: ${ROOT_CERT_CONFIGMAP} ConfigMaps`, pass: () => this.#pass(), log: opts.log, ...(opts.backoff ? { backoff: opts.backoff } : {}) });
    this.#configMaps = new Reflector(opts.api, {
      path: '/api/v1/configmaps',
      apiVersion: 'v1',
      kind: 'ConfigMap',
      selector: { fieldSelector: `metadata.name=${ROOT_CERT_CONFIGMAP}` },
      onChange: () => this.poke(),
      log: opts.log,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
  }

  async start(): Promise<void> {
    await this.#configMaps.start();
    this.poke();
  }

  /** Something changed (a namespace, the roots): reconcile soon. */
  poke(): void {
    this.#loop.poke();
  }

  idle(): Promise<void> {
    return this.#loop.idle();
  }

  get lastError(): string | null {
    return this.#loop.lastError;
  }

  /** The namespaces that should hold the ConfigMap now. */
  targets(): string[] {
    const out: string[] = [];
    for (const ns of this.#o.namespaces().values()) {
      const meta = ns.metadata as { name?: string; deletionTimestamp?: string } | undefined;
      const name = meta?.name;
      if (name === undefined || IGNORED_NAMESPACES.includes(name)) continue;
      if (meta?.deletionTimestamp !== undefined || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating') continue;
      if (this.#o.discovered !== undefined && !this.#o.discovered(name)) continue;
      out.push(name);
    }
    return out.sort();
  }

  async #pass(): Promise<void> {
    const root = this.#o.rootPem();
    const failures: string[] = [];
    for (const ns of this.targets()) {
      const current = this.#configMaps.objects.get(`${ns}/${ROOT_CERT_CONFIGMAP}`);
      const data = (current?.data ?? {}) as Record<string, string>;
      const labels = ((current?.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {});
      if (current !== undefined && data[ROOT_CERT_KEY] === root && labels[CONFIG_LABEL] === 'true') continue;
      try {
        if (current === undefined) {
          await this.#o.api.send('POST', `/api/v1/namespaces/${ns}/configmaps`, {
            apiVersion: 'v1', kind: 'ConfigMap',
            metadata: { name: ROOT_CERT_CONFIGMAP, namespace: ns, labels: { [CONFIG_LABEL]: 'true' } },
            data: { [ROOT_CERT_KEY]: root },
          });
          this.stats.created++;
          this.#o.log('info', `kube: created ConfigMap ${ns}/${ROOT_CERT_CONFIGMAP} (the mesh CA root)`);
        } else {
          // The object as read (its resourceVersion: a concurrent edit answers 409 and is read again).
          const { apiVersion: _a, kind: _k, ...rest } = current;
          await this.#o.api.send('PUT', `/api/v1/namespaces/${ns}/configmaps/${ROOT_CERT_CONFIGMAP}`, {
            ...rest, apiVersion: 'v1', kind: 'ConfigMap',
            metadata: { ...(current.metadata as Record<string, unknown>), labels: { ...labels, [CONFIG_LABEL]: 'true' } },
            data: { ...data, [ROOT_CERT_KEY]: root },
          });
          this.stats.updated++;
          this.#o.log('info', `kube: restored ConfigMap ${ns}/${ROOT_CERT_CONFIGMAP} (its ${ROOT_CERT_KEY} was not the mesh CA root)`);
        }
      } catch (err) {
        // 409: created or changed meanwhile; the watch brings the object and the next pass looks again.
        // 404: the namespace went away. 403 (RBAC) and the rest: retried with backoff.
        if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) {
          this.stats.conflicts++;
          continue;
        }
        failures.push(`${ns}: ${(err as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`${failures.length} namespace(s) not written: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`);
  }

  close(): void {
    this.#loop.close();
    this.#configMaps.close();
  }
}
