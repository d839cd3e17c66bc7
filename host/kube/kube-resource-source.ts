// `wasmesh control-plane --kube`: the API server as a source of resources beside the -f files.
// One reflector (list + watch) per kind — Services, EndpointSlices, Pods (the service registry
// file mode reads from YAML: host/config/translate/kube-registry.ts), the mesh config (the
// `istio` ConfigMap of the control plane's namespace, key `mesh`) and every Istio kind the
// loader reads, at the version `wasmesh install --crds-only` serves first — and each object read
// by host/config's readResource exactly as a YAML document would be, so validation and messages
// are the file mode's. Namespaces (their labels: meshConfig discoverySelectors) and
// ServiceAccounts (the identities the mesh can issue) are watched too but not read as config.
// An object that does not read is reported (logged once per resourceVersion, listed in
// `rejected()` and the config's warnings, and as an Event on the object by
// host/kube/rejection-events.ts) and left out; the rest is served. The objects last known keep
// being served while the API server is away.
import { ISTIO_GROUPS } from '../config/api-kinds.js';
import { formatIssue, type ConfigIssue } from '../config/config-error.js';
import { readResource, type ReadResult } from '../config/read-resource.js';
import type { YamlDocument } from '../config/yaml-source.js';
import { MESH_CONFIGMAP_NAME } from '../config/translate/mesh-settings.js';
import { pluralOf } from './istio-crds.js';
import { KubeApi } from './kube-api.js';
import type { KubeAccess } from './kube-access.js';
import { Reflector, type ReflectorOptions } from './reflector.js';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  path: string;
  /** Narrows the list and watch (the mesh ConfigMap by name). */
  selector?: ReflectorOptions['selector'];
  /** Kept as objects only (Namespace, ServiceAccount), not read as config. */
  notConfig?: boolean;
}

/** Where istiod runs and reads its `istio` ConfigMap: $POD_NAMESPACE, else istio-system. */
export const DEFAULT_ISTIO_NAMESPACE = 'istio-system';

/**
 * What is watched: the registry kinds, the Namespaces and ServiceAccounts, the mesh ConfigMap
 * `istio` of `istioNamespace`, then the Istio (and wasmesh) kinds the loader reads.
 */
export function watchedKinds(istioNamespace = DEFAULT_ISTIO_NAMESPACE): WatchedKind[] {
  const out: WatchedKind[] = [
    { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
    { apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods' },
    { apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces', notConfig: true },
    { apiVersion: 'v1', kind: 'ServiceAccount', path: '/api/v1/serviceaccounts', notConfig: true },
    { apiVersion: 'v1', kind: 'ConfigMap', path: `/api/v1/namespaces/${istioNamespace}/configmaps`, selector: { fieldSelector: `metadata.name=${MESH_CONFIGMAP_NAME}` } },
  ];
  for (const [group, g] of Object.entries(ISTIO_GROUPS)) {
    const version = g.versions[0]!;
    for (const [kind, how] of Object.entries(g.kinds)) {
      if (how !== 'read') continue;
      out.push({ apiVersion: `${group}/${version}`, kind, path: `/apis/${group}/${version}/${pluralOf(kind)}` });
    }
  }
  return out;
}

export interface RejectedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** The loader's located messages (`kube-apiserver <kind> <ns>/<name>: path: reason`). */
  issues: string[];
}

interface Cached {
  apiVersion: string;
  uid: string;
  resourceVersion: string;
  result: ReadResult;
  warnings: string[];
  issues: string[];
}

export interface KubeResourceSourceOptions {
  log: Log;
  reflector?: Pick<ReflectorOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize'>;
  kinds?: WatchedKind[];
  /** The control plane's namespace (its `istio` ConfigMap); default istio-system. */
  istioNamespace?: string;
  /** Called once per refused object and resourceVersion (the Event writer). */
  onRejected?: (r: RejectedObject) => void;
}

export class KubeResourceSource {
  readonly #api: KubeApi;
  readonly #reflectors: Reflector[];
  readonly #listeners: Array<() => void> = [];
  readonly #cache = new Map<string, Cached>();
  readonly #log: Log;
  readonly origin: string;
  readonly #kinds: WatchedKind[];
  readonly #onRejected: ((r: RejectedObject) => void) | undefined;
  readonly istioNamespace: string;

  constructor(access: KubeAccess, opts: KubeResourceSourceOptions) {
    this.#api = new KubeApi(access);
    this.#log = opts.log;
    this.origin = access.origin;
    this.istioNamespace = opts.istioNamespace ?? DEFAULT_ISTIO_NAMESPACE;
    this.#kinds = opts.kinds ?? watchedKinds(this.istioNamespace);
    this.#onRejected = opts.onRejected;
    this.#reflectors = this.#kinds.map((k) => new Reflector(this.#api, {
      ...k,
      ...opts.reflector,
      log: opts.log,
      onChange: () => {
        for (const l of this.#listeners) l();
      },
    }));
  }

  /** Starts every watch; resolves when each kind has been listed once (or found not served). */
  async start(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.start()));
  }

  /** Called after any object changes (ResourceFeed: the control plane debounces and reloads). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** The API client the source watches with (shared by the control plane's writers). */
  get api(): KubeApi {
    return this.#api;
  }

  /** Objects of a kind kept as objects only (Namespace, ServiceAccount), by `namespace/name`. */
  objectsOf(kind: string): ReadonlyMap<string, Record<string, unknown>> {
    const i = this.#kinds.findIndex((k) => k.kind === kind);
    return i < 0 ? new Map() : this.#reflectors[i]!.objects;
  }

  /** Each namespace's labels (meshConfig discoverySelectors match them). */
  namespaceLabels(): Map<string, Record<string, string>> {
    const out = new Map<string, Record<string, string>>();
    for (const ns of this.objectsOf('Namespace').values()) {
      const m = ns.metadata as { name?: string; labels?: Record<string, string> };
      if (m.name !== undefined) out.set(m.name, { ...m.labels });
    }
    return out;
  }

  /** The ServiceAccounts the API server holds, `namespace/name` (the identities pods can run as). */
  serviceAccounts(): string[] {
    return [...this.objectsOf('ServiceAccount').keys()].sort();
  }

  /** The objects as read resources (for readConfig's `extra`); invalid ones left out and reported. */
  results(): { results: ReadResult[]; warnings: string[] } {
    const results: ReadResult[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    for (const [i, r] of this.#reflectors.entries()) {
      if (this.#kinds[i]!.notConfig === true) continue;
      for (const obj of r.objects.values()) {
        const meta = obj.metadata as { namespace?: string; name?: string; resourceVersion?: string; uid?: string };
        const key = `${String(obj.kind)} ${meta.namespace ?? ''}/${meta.name ?? ''}`;
        seen.add(key);
        const rv = meta.resourceVersion ?? '';
        let c = this.#cache.get(key);
        if (c === undefined || c.resourceVersion !== rv) {
          c = this.#read(key, obj, rv);
          this.#cache.set(key, c);
          for (const i of c.issues) this.#log('error', `kube: ${key} (resourceVersion ${rv}) is not served: ${i}`);
          if (c.issues.length > 0 && this.#onRejected !== undefined) {
            try {
              this.#onRejected(rejectedOf(key, c));
            } catch (err) {
              this.#log('warn', `kube: reporting ${key} as rejected: ${(err as Error).message}`);
            }
          }
        }
        warnings.push(...c.warnings);
        if (c.issues.length > 0) {
          warnings.push(...c.issues.map((i) => `${key} is not served: ${i}`));
          continue;
        }
        results.push(c.result);
      }
    }
    for (const k of [...this.#cache.keys()]) if (!seen.has(k)) this.#cache.delete(k);
    return { results, warnings };
  }

  /** Totals for the monitoring port (host/control-plane/kube-metrics.ts). */
  metrics(): { objects: number; rejected: number; watchErrors: number; relists: number; healthy: boolean } {
    let objects = 0;
    let watchErrors = 0;
    let relists = 0;
    let healthy = true;
    for (const r of this.#reflectors) {
      objects += r.objects.size;
      watchErrors += r.stats.errors;
      relists += r.stats.relists410;
      if (r.lastError !== null) healthy = false;
    }
    let rejected = 0;
    for (const c of this.#cache.values()) if (c.issues.length > 0) rejected++;
    return { objects, rejected, watchErrors, relists, healthy };
  }

  /** Objects refused by the loader, for status pages. */
  rejected(): RejectedObject[] {
    const out: RejectedObject[] = [];
    for (const [key, c] of this.#cache) if (c.issues.length > 0) out.push(rejectedOf(key, c));
    return out;
  }

  /** Per kind: objects, synced, missing CRD, last error, list/watch/410/bookmark counts. */
  status(): Array<{ kind: string; objects: number; synced: boolean; missing: boolean; resourceVersion: string | null; lastError: string | null; stats: Reflector['stats'] }> {
    return this.#reflectors.map((r, i) => ({ kind: this.#kinds[i]!.kind, objects: r.objects.size, synced: r.synced, missing: r.missing, resourceVersion: r.resourceVersion, lastError: r.lastError, stats: r.stats }));
  }

  #read(key: string, obj: Record<string, unknown>, rv: string): Cached {
    const doc: YamlDocument = { file: `kube-apiserver ${key}`, doc: 1, line: 1, value: obj, lineOf: () => 1 };
    const issues: ConfigIssue[] = [];
    const warnings: string[] = [];
    const result = readResource(doc, 'default', issues, warnings);
    // An API object has no file lines: its messages name the object and the field path.
    const uid = (obj.metadata as { uid?: string }).uid ?? '';
    return { apiVersion: String(obj.apiVersion), uid, resourceVersion: rv, result, warnings, issues: issues.map((i) => formatIssue({ ...i, file: 'kube-apiserver', line: null, doc: null })) };
  }

  close(): void {
    for (const r of this.#reflectors) r.close();
    this.#api.close();
  }
}

function rejectedOf(key: string, c: Cached): RejectedObject {
  const [kind, nsName] = key.split(' ') as [string, string];
  const [namespace, name] = nsName.split('/') as [string, string];
  return { apiVersion: c.apiVersion, kind, namespace, name, uid: c.uid, resourceVersion: c.resourceVersion, issues: c.issues };
}
