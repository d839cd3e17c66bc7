// One kind's objects mirrored from the API server, as client-go's reflector keeps them: a list
// (paged) gives the objects and a resourceVersion; a watch from that version
// (allowWatchBookmarks) applies ADDED/MODIFIED/DELETED and moves the version on with every event
// and bookmark; a watch the server ends (its timeout) is reopened from the version; 410 Gone (the
// version was compacted away) relists; any other failure (server away, 5xx, a cut connection)
// backs off exponentially with jitter and retries, the objects last known kept meanwhile. A kind
// the server does not have (404: its CRD not installed) counts as empty and is looked for again.
import { KubeApiError, type KubeApi, type WatchEvent } from './kube-api.js';

export interface ReflectorOptions {
  /** Collection path, e.g. /api/v1/services or /apis/networking.istio.io/v1/virtualservices. */
  path: string;
  apiVersion: string;
  kind: string;
  /** Called after each change to the objects (the caller debounces). */
  onChange: () => void;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Backoff after a failure: from `initialMs`, doubling to `maxMs` (client-go: 800 ms to 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** Server-side watch timeout (client-go picks 5–10 min); a silent connection is broken after it plus 30 s. */
  watchTimeoutSeconds?: number;
  /** Page size of a list (client-go: 500). */
  pageSize?: number;
  /** Narrows list and watch, e.g. { fieldSelector: 'metadata.name=istio' } (client-go's ListOptions). */
  selector?: { fieldSelector?: string; labelSelector?: string };
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  relists410: number;
  errors: number;
  bookmarks: number;
}

export class Reflector {
  readonly #api: KubeApi;
  readonly #o: ReflectorOptions;
  /** `namespace/name` → the object (apiVersion and kind set). */
  readonly objects = new Map<string, Record<string, unknown>>();
  readonly stats: ReflectorStats = { lists: 0, watches: 0, relists410: 0, errors: 0, bookmarks: 0 };
  #resourceVersion: string | null = null;
  #synced = false;
  #closed = false;
  #failures = 0;
  #watch: { close(): void } | null = null;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  #firstSync: Promise<void>;
  #resolveFirst!: () => void;
  /** Why the last attempt failed (null while healthy), for status. */
  lastError: string | null = null;
  /** The kind is not served by the API server (404): no CRD. */
  missing = false;

  constructor(api: KubeApi, opts: ReflectorOptions) {
    this.#api = api;
    this.#o = opts;
    this.#firstSync = new Promise((r) => (this.#resolveFirst = r));
  }

  get synced(): boolean {
    return this.#synced;
  }
  get resourceVersion(): string | null {
    return this.#resourceVersion;
  }

  /** Starts the loop; resolves once the first list is in (or the kind was found missing). */
  start(): Promise<void> {
    void this.#run();
    return this.#firstSync;
  }

  close(): void {
    this.#closed = true;
    this.#watch?.close();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.wake();
    }
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        if (this.#resourceVersion === null) await this.#list();
        if (this.#closed) return;
        await this.#watchOnce();
      } catch (err) {
        if (this.#closed) return;
        if (err instanceof KubeApiError && err.status === 410) {
          this.stats.relists410++;
          this.#o.log('info', `kube: ${this.#o.kind}: resourceVersion ${this.#resourceVersion ?? ''} is too old (410 Gone); listing again`);
          this.#resourceVersion = null;
          continue;
        }
        if (err instanceof KubeApiError && err.status === 404) {
          if (!this.missing) this.#o.log('warn', `kube: ${this.#o.kind} (${this.#o.path}) is not served by the API server (404: is its CRD installed? \`wasmesh install --crds-only\`); treated as none, looked for again`);
          this.missing = true;
          this.#markSynced();
          if (this.objects.size > 0) {
            this.objects.clear();
            this.#o.onChange();
          }
        } else {
          this.stats.errors++;
          const message = (err as Error).message;
          if (this.lastError !== message) this.#o.log('warn', `kube: ${this.#o.kind}: ${message}; keeping the ${this.objects.size} object(s) last known, retrying`);
          this.lastError = message;
        }
        await this.#backoff();
      }
    }
  }

  #markSynced(): void {
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveFirst();
    }
  }

  async #backoff(): Promise<void> {
    const { initialMs, maxMs } = this.#o.backoff ?? { initialMs: 800, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** this.#failures);
    this.#failures++;
    const ms = base * (0.5 + Math.random() / 2);
    await new Promise<void>((wake) => {
      this.#sleep = { timer: setTimeout(wake, ms), wake };
    });
    this.#sleep = null;
  }

  async #list(): Promise<void> {
    const fresh = new Map<string, Record<string, unknown>>();
    let cont: string | undefined;
    let rv = '';
    do {
      const q = new URLSearchParams({ ...this.#selector(), limit: String(this.#o.pageSize ?? 500) });
      if (cont !== undefined) q.set('continue', cont);
      const page = await this.#api.getJson(`${this.#o.path}?${q}`);
      const meta = (page.metadata ?? {}) as { resourceVersion?: string; continue?: string };
      for (const item of (page.items ?? []) as Array<Record<string, unknown>>) {
        const obj = this.#typed(item);
        fresh.set(keyOf(obj), obj);
      }
      rv = meta.resourceVersion ?? '';
      cont = meta.continue !== undefined && meta.continue !== '' ? meta.continue : undefined;
    } while (cont !== undefined && !this.#closed);
    this.stats.lists++;
    this.objects.clear();
    for (const [k, v] of fresh) this.objects.set(k, v);
    this.#resourceVersion = rv;
    this.missing = false;
    this.lastError = null;
    this.#markSynced();
    this.#o.onChange();
  }

  async #watchOnce(): Promise<void> {
    const timeout = this.#o.watchTimeoutSeconds ?? 300;
    const q = new URLSearchParams({ ...this.#selector(), watch: '1', allowWatchBookmarks: 'true', resourceVersion: this.#resourceVersion ?? '', timeoutSeconds: String(timeout) });
    this.stats.watches++;
    let gone: KubeApiError | null = null;
    const w = this.#api.watch(`${this.#o.path}?${q}`, (e) => {
      const err = this.#apply(e);
      if (err !== null) {
        gone = err;
        w.close();
      }
    }, (timeout + 30) * 1000);
    this.#watch = w;
    void w.opened.then(() => {
      // Open again after failures: healthy, and the next failure backs off from the start.
      this.lastError = null;
      this.#failures = 0;
    });
    try {
      await w.done;
    } catch (err) {
      if (gone === null) throw err;
    } finally {
      this.#watch = null;
    }
    if (gone !== null) throw gone;
    this.lastError = null;
  }

  #selector(): Record<string, string> {
    const s = this.#o.selector ?? {};
    return {
      ...(s.fieldSelector !== undefined ? { fieldSelector: s.fieldSelector } : {}),
      ...(s.labelSelector !== undefined ? { labelSelector: s.labelSelector } : {}),
    };
  }

  /** Applies one watch event; an ERROR event comes back as the error it carries. */
  #apply(e: WatchEvent): KubeApiError | null {
    const obj = e.object ?? {};
    const rv = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const typed = this.#typed(obj);
        this.objects.set(keyOf(typed), typed);
        break;
      }
      case 'DELETED':
        this.objects.delete(keyOf(obj));
        break;
      case 'BOOKMARK':
        this.stats.bookmarks++;
        if (rv !== undefined) this.#resourceVersion = rv;
        return null;
      case 'ERROR': {
        const status = obj as { code?: number; message?: string };
        return new KubeApiError(status.code ?? 500, `watch ${this.#o.path}: ${status.code ?? ''} ${status.message ?? 'error event'}`);
      }
      default:
        return null;
    }
    if (rv !== undefined) this.#resourceVersion = rv;
    this.#o.onChange();
    return null;
  }

  /** List items come without apiVersion and kind; the managed fields are dropped (they are large). */
  #typed(item: Record<string, unknown>): Record<string, unknown> {
    const metadata = { ...(item.metadata as Record<string, unknown> | undefined) };
    delete metadata.managedFields;
    return { ...item, apiVersion: this.#o.apiVersion, kind: this.#o.kind, metadata };
  }
}

function keyOf(obj: Record<string, unknown>): string {
  const m = (obj.metadata ?? {}) as { namespace?: string; name?: string };
  return `${m.namespace ?? ''}/${m.name ?? ''}`;
}
