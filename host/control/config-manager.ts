// Owns the proxy's configuration over time: loads the Istio YAML, applies each new valid
// version to the data path, watches the files, and keeps the last good version serving when
// a change is invalid (recording the error for the admin API).
import { createHash } from 'node:crypto';
import type { MeshConfig } from '../model/mesh.js';
import type { LoadOptions } from '../config/loaded-config.js';
import { FileWatcher, watchPlan } from './file-watcher.js';
import { servesNothingWarning } from './serves-nothing-warning.js';
import type { ProxyConfigSource, ConfigTarget, LastError, ConfigDump, ControlCounters, ReloadOutcome } from './config-source.js';

export type { ConfigTarget, LastError, ConfigDump, ControlCounters, ReloadOutcome };
import type { Log } from '../common/log.js';

/** What the manager needs of host/config's LoadedConfig (resources are shown, not read). */
export interface LoadedConfig {
  resources: unknown;
  mesh: MeshConfig;
  warnings: string[];
  files: string[];
}

export type { LoadOptions };

/** host/config's loadConfig, injected so the manager can be tested without files or a proxy. */
export type ConfigLoader = (sources: string[], options: LoadOptions) => LoadedConfig;

/** The same load without blocking the event loop (host/control/isolated-load.ts runs it in a child process). */
export type AsyncConfigLoader = (sources: string[], options: LoadOptions) => Promise<LoadedConfig>;






export interface ConfigManagerOptions {
  sources: string[];
  gateway?: string;
  namespace?: string;
  /** The proxy's workload labels (VirtualService sourceLabels), from `--labels`. */
  labels?: Record<string, string>;
  /** `--allow-unenforced-security`: security settings not enforced yet are warned about, not refused. */
  allowUnenforcedSecurity?: boolean;
  /** The proxy has a workload certificate: ISTIO_MUTUAL and auto mTLS are enforced (LoadOptions.workloadIdentity). */
  workloadIdentity?: boolean;
  /** LoadOptions.trustDomain: the workload identity's trust domain. */
  trustDomain?: string;
  /** `--credentials-dir`: where a Gateway's credentialName is found. */
  credentialsDir?: string;
  target: ConfigTarget;
  load: ConfigLoader;
  /**
   * When given, reloads (file changes, reloadAsync) load with it, so the data path on this
   * thread keeps serving while a config is read; the first load still uses `load`.
   */
  loadAsync?: AsyncConfigLoader;
  log?: Log;
  debounceMs?: number;
  now?: () => Date;
  /** Told the outcome of every reload attempt (the proxy's stats count them). */
  onReload?: (outcome: ReloadOutcome, version: number) => void;
  /**
   * Where the warnings of each applied load go; by default each is logged ('warn'). Proxies
   * sharing a process pass one WarningDedupe (host/control/warning-dedupe.ts) so that what
   * they all read is reported once. `loadKey` names what was read: equal for every proxy
   * that read the same resources.
   */
  reportWarnings?: (warnings: readonly string[], loadKey: string) => void;
}

/** Stable code for a rejected change whose error carries none. */
function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : fallback;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ConfigManager implements ProxyConfigSource {
  readonly #opts: ConfigManagerOptions;
  readonly #log: Log;
  readonly #now: () => Date;
  #current: LoadedConfig | null = null;
  #fingerprint = '';
  #version = 0;
  #loadedAt: Date | null = null;
  #lastError: LastError | null = null;
  #watcher: FileWatcher | null = null;
  #closed = false;
  /** The asynchronous reload running now, and the one asked for meanwhile (they coalesce). */
  #inflight: Promise<ReloadOutcome> | null = null;
  #queued: Promise<ReloadOutcome> | null = null;
  readonly counters: ControlCounters = { reloads_total: 0, reload_errors_total: 0, reloads_unchanged_total: 0 };

  constructor(options: ConfigManagerOptions) {
    if (options.sources.length === 0) throw new Error('ConfigManager: at least one config source is needed');
    this.#opts = options;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? (() => new Date());
  }

  /** Serving version: 0 before the first successful apply, then 1, 2, … */
  get version(): number {
    return this.#version;
  }

  get ready(): boolean {
    return this.#current !== null;
  }

  get lastError(): LastError | null {
    return this.#lastError;
  }

  get loadedAt(): Date | null {
    return this.#loadedAt;
  }

  get current(): LoadedConfig | null {
    return this.#current;
  }

  /**
   * The first load: on any error it throws (the caller prints it and exits non-zero), since
   * there is no good version to fall back on.
   */
  start(): LoadedConfig {
    const loaded = this.#withProxyWarnings(this.#load());
    this.#commit(loaded);
    this.#reportWarnings(loaded);
    return loaded;
  }

  /**
   * Loads again and applies if the result differs from what is serving. Never throws: an
   * invalid change is logged, counted and kept in lastError while the old version serves on.
   */
  reload(reason = 'reload requested'): ReloadOutcome {
    const outcome = this.#reload(reason);
    this.#opts.onReload?.(outcome, this.#version);
    return outcome;
  }

  /**
   * As reload(), without blocking: with `loadAsync` the config is read off the event loop and
   * applied when it arrives. A reload asked for while one runs is queued behind it, and every
   * further one joins the queued one (the files are read when it starts, so it sees them all).
   * Without `loadAsync`, the same as reload().
   */
  reloadAsync(reason = 'reload requested'): Promise<ReloadOutcome> {
    if (!this.#opts.loadAsync) return Promise.resolve(this.reload(reason));
    if (this.#queued) return this.#queued;
    if (this.#inflight) {
      const queued = this.#inflight.then(() => {
        this.#queued = null;
        return this.#runAsync(reason);
      });
      this.#queued = queued;
      return queued;
    }
    return this.#runAsync(reason);
  }

  #runAsync(reason: string): Promise<ReloadOutcome> {
    this.counters.reloads_total++;
    const run = this.#opts.loadAsync!(this.#opts.sources, this.#loadOptions()).then(
      (loaded) => (this.#closed ? 'unchanged' as const : this.#afterLoad(loaded, reason)),
      (err: unknown) => this.#reject(errorCode(err, 'load_failed'), errorMessage(err), reason),
    ).then((outcome) => {
      this.#inflight = null;
      this.#opts.onReload?.(outcome, this.#version);
      return outcome;
    });
    this.#inflight = run;
    return run;
  }

  #reload(reason: string): ReloadOutcome {
    this.counters.reloads_total++;
    let loaded: LoadedConfig;
    try {
      loaded = this.#load();
    } catch (err) {
      return this.#reject(errorCode(err, 'load_failed'), errorMessage(err), reason);
    }
    return this.#afterLoad(loaded, reason);
  }

  /** A load succeeded: nothing to do if it equals what serves, else apply it (or reject). */
  #afterLoad(raw: LoadedConfig, reason: string): ReloadOutcome {
    const loaded = this.#withProxyWarnings(raw);
    if (fingerprintOf(loaded) === this.#fingerprint) {
      this.counters.reloads_unchanged_total++;
      // Back to what is serving (say, a bad edit undone): the files are fine again.
      this.#lastError = null;
      this.#current = loaded;
      this.#syncWatch();
      return 'unchanged';
    }
    try {
      this.#commit(loaded);
    } catch (err) {
      return this.#reject(errorCode(err, 'apply_failed'), errorMessage(err), reason);
    }
    this.#reportWarnings(loaded);
    this.#log('info', `config version ${this.#version} applied (${reason}; ${loaded.files.length} file(s))`);
    return 'applied';
  }

  /** Starts watching every file and folder the config came from; changes reload it. */
  watch(): void {
    if (this.#watcher) return;
    this.#watcher = new FileWatcher({
      debounceMs: this.#opts.debounceMs,
      onChange: (paths) => {
        const reason = `changed: ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', …' : ''}`;
        if (this.#opts.loadAsync) void this.reloadAsync(reason);
        else this.reload(reason);
      },
    });
    this.#syncWatch();
  }

  /** Folders being watched (for the admin index and tests). */
  get watchedDirs(): string[] {
    return this.#watcher?.watchedDirs ?? [];
  }

  close(): void {
    // A reload still loading is dropped when it arrives (the data path may be gone).
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = null;
  }

  describe(): string {
    return `config version ${this.version} from ${this.current?.files.length ?? 0} file(s), watching for changes`;
  }

  dump(): ConfigDump {
    const cur = this.#current;
    return {
      version: this.#version,
      resources: cur?.resources ?? [],
      mesh: cur?.mesh ?? null,
      warnings: cur?.warnings ?? [],
      files: cur?.files ?? [],
      lastError: this.#lastError,
      loadedAt: this.#loadedAt?.toISOString() ?? null,
    };
  }

  /**
   * The load's warnings plus those about this proxy's view of it (a proxy the config gives
   * nothing to serve), so that they are logged and dumped as any other warning of the load.
   */
  #withProxyWarnings(loaded: LoadedConfig): LoadedConfig {
    const { gateway, namespace, labels } = this.#opts;
    const idle = servesNothingWarning(loaded, { gateway, namespace, labels });
    return idle === null ? loaded : { ...loaded, warnings: [...loaded.warnings, idle] };
  }

  #reportWarnings(loaded: LoadedConfig): void {
    if (this.#opts.reportWarnings) this.#opts.reportWarnings(loaded.warnings, loadKeyOf(loaded));
    else for (const w of loaded.warnings) this.#log('warn', w);
  }

  #load(): LoadedConfig {
    return this.#opts.load(this.#opts.sources, this.#loadOptions());
  }

  #loadOptions(): LoadOptions {
    const { gateway, namespace, labels, allowUnenforcedSecurity, workloadIdentity, trustDomain, credentialsDir } = this.#opts;
    // Only what was given: the options cross to the loader's process as JSON.
    return { gateway, namespace, labels, ...(allowUnenforcedSecurity ? { allowUnenforcedSecurity } : {}), ...(workloadIdentity ? { workloadIdentity } : {}), ...(trustDomain !== undefined ? { trustDomain } : {}), ...(credentialsDir !== undefined ? { credentialsDir } : {}) };
  }

  /** Applies under the next version number; the number is only taken once the target accepts. */
  #commit(loaded: LoadedConfig): void {
    const next = this.#version + 1;
    this.#opts.target.apply(loaded.mesh, next);
    this.#version = next;
    this.#current = loaded;
    this.#fingerprint = fingerprintOf(loaded);
    this.#loadedAt = this.#now();
    this.#lastError = null;
    this.#syncWatch();
  }

  #reject(code: string, message: string, reason: string): ReloadOutcome {
    this.counters.reload_errors_total++;
    this.#lastError = { code, message, at: this.#now().toISOString() };
    this.#log('error', `config change rejected (${reason}); still serving version ${this.#version}:\n${message}`);
    // The failed load may have been a new file in a new folder: keep watching what we can.
    this.#syncWatch();
    return 'rejected';
  }

  #syncWatch(): void {
    if (!this.#watcher) return;
    this.#watcher.sync(watchPlan(this.#opts.sources, this.#current?.files ?? []));
  }
}

/**
 * Identity of a loaded config: the resolved mesh and the resources without their source
 * locations (top-level `file`, `doc`, `line` of each resource). A comment or blank line that
 * shifts line numbers then gives the same fingerprint and does not bump the version.
 */
function fingerprintOf(loaded: LoadedConfig): string {
  const resources = Array.isArray(loaded.resources) ? loaded.resources.map(withoutLocation) : loaded.resources;
  return createHash('sha256').update(JSON.stringify([loaded.mesh, resources])).digest('hex');
}

/**
 * What a load read, whichever proxy read it: its files and resources (with their locations,
 * which the warnings quote). Proxies of one process that load the same files agree on it.
 */
function loadKeyOf(loaded: LoadedConfig): string {
  return createHash('sha256').update(JSON.stringify([loaded.files, loaded.resources])).digest('hex');
}

function withoutLocation(resource: unknown): unknown {
  if (resource === null || typeof resource !== 'object') return resource;
  const { file: _f, doc: _d, line: _l, ...rest } = resource as Record<string, unknown>;
  return rest;
}
