// `wasmesh control-plane --kube`: the API server as a source of resources beside the -f files.
// One reflector (list + watch) per kind — Services, EndpointSlices, Pods (the service registry
// file mode reads from YAML: host/config/translate/kube-registry.ts) and every Istio kind the
// loader reads, at the version `wasmesh install --crds-only` serves first — and each object read
// by host/config's readResource exactly as a YAML document would be, so validation and messages
// are the file mode's. An object that does not read is reported (logged once per
// resourceVersion, listed in `rejected()` and the config's warnings) and left out; the rest is
// served. The objects last known keep being served while the API server is away.
import { ISTIO_GROUPS } from '../config/api-kinds.js';
import { formatIssue, type ConfigIssue } from '../config/config-error.js';
import { readResource, type ReadResult } from '../config/read-resource.js';
import type { YamlDocument } from '../config/yaml-source.js';
import { pluralOf } from './istio-crds.js';
import { KubeApi } from './kube-api.js';
import type { KubeAccess } from './kube-access.js';
import { Reflector, type ReflectorOptions } from './reflector.js';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  path: string;
}

/** What is watched: the registry kinds, then the Istio (and wasmesh) kinds the loader reads. */
export function watchedKinds(): WatchedKind[] {
  const out: WatchedKind[] = [
    { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', path: '/apis/discovery.k8s.io/v1/endpointslices' },
    { apiVersion: 'v1', kind: 'Pod', path: '/api/v1/pods' },
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
  kind: string;
  namespace: string;
  name: string;
  resourceVersion: string;
  /** The loader's located messages (`kube-apiserver <kind> <ns>/<name>: path: reason`). */
  issues: string[];
}

interface Cached {
  resourceVersion: string;
  result: ReadResult;
  warnings: string[];
  issues: string[];
}

export interface KubeResourceSourceOptions {
  log: Log;
  reflector?: Pick<ReflectorOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize'>;
  kinds?: WatchedKind[];
}

export class KubeResourceSource {
  readonly #api: KubeApi;
  readonly #reflectors: Reflector[];
  readonly #listeners: Array<() => void> = [];
  readonly #cache = new Map<string, Cached>();
  readonly #log: Log;
  readonly origin: string;
  readonly #kinds: WatchedKind[];

  constructor(access: KubeAccess, opts: KubeResourceSourceOptions) {
    this.#api = new KubeApi(access);
    this.#log = opts.log;
    this.origin = access.origin;
    this.#kinds = opts.kinds ?? watchedKinds();
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

  /** The objects as read resources (for readConfig's `extra`); invalid ones left out and reported. */
  results(): { results: ReadResult[]; warnings: string[] } {
    const results: ReadResult[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    for (const r of this.#reflectors) {
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
    for (const [key, c] of this.#cache) {
      if (c.issues.length === 0) continue;
      const [kind, nsName] = key.split(' ') as [string, string];
      const [namespace, name] = nsName.split('/') as [string, string];
      out.push({ kind, namespace, name, resourceVersion: c.resourceVersion, issues: c.issues });
    }
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
    return { resourceVersion: rv, result, warnings, issues: issues.map((i) => formatIssue({ ...i, file: 'kube-apiserver', line: null, doc: null })) };
  }

  close(): void {
    for (const r of this.#reflectors) r.close();
    this.#api.close();
  }
}
