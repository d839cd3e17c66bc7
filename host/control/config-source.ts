// Where a proxy's configuration comes from, as the runtime and the admin API see it: the files
// (ConfigManager: read, watched, reloaded) or the control plane over xDS (XdsConfigSource). Both
// apply each new version to the data path, keep the last good one when a new one is refused,
// and show the same /config_dump and control stats.
import type { MeshConfig } from '../model/mesh.js';

export interface ProxyConfigSource {
  /** A version is applied and serving. */
  readonly ready: boolean;
  /** The serving version (0 before the first). */
  readonly version: number;
  readonly current: { mesh: MeshConfig } | null;
  readonly counters: ControlCounters;
  readonly lastError: LastError | null;
  dump(): ConfigDump;
  /** The first load (files: synchronous, throws ConfigError when invalid; xDS: starts the stream). */
  start(): unknown;
  /** Starts watching for changes (files; the xDS stream pushes by itself). */
  watch(): void;
  reloadAsync(reason: string): Promise<ReloadOutcome>;
  close(): void;
  /** Where the config comes from, for the start-up line ("config version 3 from 2 file(s), …"). */
  describe(): string;
}

/** The data path: ProxyServer.apply swaps in a version atomically or throws and keeps the old. */
export interface ConfigTarget {
  apply(mesh: MeshConfig, version: number): void;
}
/** The last rejected change, as shown by /config_dump. */
export interface LastError {
  /** Stable code: the loader's (`invalid_config`), `apply_failed`, or `load_failed`. */
  code: string;
  message: string;
  /** ISO time of the rejected attempt. */
  at: string;
}
export interface ConfigDump {
  version: number;
  resources: unknown;
  mesh: MeshConfig | null;
  warnings: string[];
  files: string[];
  lastError: LastError | null;
  loadedAt: string | null;
}
/** Control-plane counters, shown with the data-path stats. */
export interface ControlCounters {
  /** Reload attempts after the initial load (file events, SIGHUP, explicit calls). */
  reloads_total: number;
  /** Reload attempts rejected (invalid config or refused by the data path). */
  reload_errors_total: number;
  /** Reload attempts whose result equals the serving version (nothing applied). */
  reloads_unchanged_total: number;
}
export type ReloadOutcome = 'applied' | 'unchanged' | 'rejected';

/**
 * A source of resources that is not a file (the Kubernetes API server, `control-plane --kube`):
 * the reader it is combined with reads its current objects; it says when they changed, and the
 * consumer reloads (debounced) as for a file event.
 */
export interface ResourceFeed {
  onChange(listener: () => void): void;
  close(): void;
}
