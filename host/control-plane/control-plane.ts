// The control plane (istiod's role): reads and watches the Istio YAML, computes each connected
// proxy's view when it connects and again after every change (debounced: a quiet period, and a
// longest wait so a stream of edits still converges) — once per distinct view (view-key.ts), not
// once per proxy — and hands the views to the ADS server as snapshots. Versions are content hashes, so a change pushes only the proxies and types it
// affects. An invalid change is reported and the last good config keeps being served.
import { resolveConfig, type ReadConfig } from '../config/index.js';
import type { LoadedConfig, LoadOptions } from '../config/loaded-config.js';
import { ConfigError } from '../config/config-error.js';
import { FileWatcher, watchPlan } from '../control/file-watcher.js';
import type { ResourceFeed } from '../control/config-source.js';
import { AdsServer, type AdsEvents } from '../xds/ads-server.js';
import { SnapshotCache } from '../xds/snapshot.js';
import { TYPE_URL } from '../xds/envoy-protos.js';
import { WASMESH_TYPE_URL } from '../xds/wasmesh-resource.js';
import type { XdsNode } from '../xds/xds-node.js';
import { proxyView, type ProxyView } from './proxy-view.js';
import { PushDebouncer } from './push-debouncer.js';
import { resolutionKey, selectorLabelKeys, viewKey } from './view-key.js';
import { ResourceEncoder } from './snapshots.js';
import { XdsMetrics } from './xds-metrics.js';
import { describeSkippedInstanceIps } from '../common/instance-ips.js';
import { describeFamilies } from '../model/ip-families.js';

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface ControlPlaneOptions {
  sources: string[];
  /** Reads the sources (host/config readConfig; injected for tests). */
  read: (sources: string[]) => ReadConfig;
  allowUnenforcedSecurity?: boolean;
  /**
   * The control plane runs the mesh CA (`--ca-dir`): its proxies can hold workload certificates,
   * so views enforce ISTIO_MUTUAL, auto mTLS and PeerAuthentication STRICT instead of refusing
   * them; a proxy that has none refuses (NACKs) a view it cannot enforce.
   */
  workloadIdentity?: boolean;
  /** The CA's trust domain (LoadOptions.trustDomain). */
  trustDomain?: string;
  /** `--credentials-dir`: Gateways' credentialName secrets, sent inline to wasmesh gateways. */
  credentialsDir?: string;
  /** Istio's PILOT_DEBOUNCE_AFTER (100 ms) and PILOT_DEBOUNCE_MAX (10 s). */
  debounce?: { quietMs: number; maxDelayMs: number };
  log: Log;
  events?: AdsEvents;
  /** Sources beside the files (`--kube`): `read` includes their objects; a change reloads. */
  feeds?: ResourceFeed[];
}

/** The types each kind of client is served. */
const ENVOY_TYPES = new Set<string>([TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]);

interface Connected {
  node: XdsNode;
  connectedAt: number;
  view: ProxyView | null;
  error: string | null;
}

export interface ControlPlaneStatus {
  version: number;
  loadedAt: string | null;
  files: string[];
  lastError: { message: string; at: string } | null;
  warnings: string[];
}

export class ControlPlane {
  readonly cache = new SnapshotCache();
  readonly metrics = new XdsMetrics();
  readonly ads: AdsServer;
  readonly #opts: ControlPlaneOptions;
  readonly #proxies = new Map<string, Connected>();
  readonly #debouncer: PushDebouncer;
  #read: ReadConfig | null = null;
  /** The label keys #read selects on (what sets sidecars' views apart). */
  #selected: ReadonlySet<string> = new Set();
  /**
   * Views of the current version by view key (view-key.ts), shared by proxies that would compute
   * the same one — those connecting later included; emptied when the version changes.
   */
  #views = new Map<string, ProxyView | Error>();
  /** Resolved meshes of the current version by resolution key (resolutionKey), shared by views. */
  #resolved = new Map<string, LoadedConfig | Error>();
  readonly #encoder = new ResourceEncoder();
  #version = 0;
  #loadedAt: string | null = null;
  #lastError: { message: string; at: string } | null = null;
  /** When the change behind the current version was first seen (convergence time). */
  #changedAt = 0;
  #watcher: FileWatcher | null = null;
  #feedsWatched = false;
  #closed = false;

  constructor(opts: ControlPlaneOptions) {
    this.#opts = opts;
    const d = opts.debounce ?? { quietMs: 100, maxDelayMs: 10_000 };
    this.#debouncer = new PushDebouncer(d.quietMs, d.maxDelayMs, (firstAt) => this.#reload(firstAt));
    this.ads = new AdsServer({
      cache: this.cache,
      connect: (node) => this.#connect(node),
      disconnect: (node) => this.#proxies.delete(node.id),
      servesType: (node, type) => (node.kind === 'wasmesh' ? type === WASMESH_TYPE_URL : ENVOY_TYPES.has(type)),
      // A proxy that connects after the change converges from its connection, not from the change.
      changedAt: (proxyId) => Math.max(this.#changedAt, this.#proxies.get(proxyId)?.connectedAt ?? 0),
      events: mergeEvents(this.metrics.events((level, message) => opts.log(level, message)), opts.events),
    });
  }

  get version(): number {
    return this.#version;
  }

  get ready(): boolean {
    return this.#read !== null && this.ads.port > 0;
  }

  /** Loads the sources (throws ConfigError when the first load is invalid) and starts watching them. */
  start(): void {
    this.#read = this.#opts.read(this.#opts.sources);
    this.#selected = selectorLabelKeys(this.#read);
    this.#version = 1;
    this.#changedAt = Date.now();
    this.#loadedAt = new Date().toISOString();
    this.#watch();
  }

  listen(host: string, port: number): Promise<number> {
    return this.ads.listen(host, port);
  }

  /** Reloads now (SIGHUP, tests), through the debouncer. */
  requestReload(): void {
    this.#debouncer.trigger();
  }

  status(): ControlPlaneStatus {
    return { version: this.#version, loadedAt: this.#loadedAt, files: this.#read?.files ?? [], lastError: this.#lastError, warnings: this.#read?.warnings ?? [] };
  }

  /** The resources being served, for /debug/configz. */
  resources(): unknown[] {
    return (this.#read?.effective ?? []).map((r) => ({ kind: r.resource.kind, namespace: r.resource.namespace, name: r.resource.name, file: r.resource.file, spec: r.resource.spec }));
  }

  /** Every connected proxy with its view's warnings or error. */
  connected(): Array<{ node: XdsNode; warnings: string[]; error: string | null }> {
    return [...this.#proxies.values()].map((p) => ({ node: p.node, warnings: p.view?.warnings ?? [], error: p.error }));
  }

  #watch(): void {
    // The watcher only coalesces an editor's events; the push debounce is the debouncer's.
    this.#watcher ??= new FileWatcher({ onChange: () => this.#debouncer.trigger(), debounceMs: 10, maxWaitMs: 100 });
    this.#watcher.sync(watchPlan(this.#opts.sources, this.#read?.files ?? []));
    if (!this.#feedsWatched) for (const feed of this.#opts.feeds ?? []) feed.onChange(() => this.#debouncer.trigger());
    this.#feedsWatched = true;
  }

  #connect(node: XdsNode): void {
    if (this.#read === null) throw new Error('the control plane has no config loaded yet');
    const entry: Connected = { node, connectedAt: Date.now(), view: null, error: null };
    this.#compute(entry, this.#views);
    // A refused proxy is not recorded: its stream ends, and no disconnect would ever remove it.
    if (entry.view === null) throw new Error(`cannot compute this proxy's configuration: ${entry.error}`);
    this.#proxies.set(node.id, entry);
    this.#opts.log('info', `xDS: ${node.kind} ${node.type} ${node.id} connected (config version ${this.#version})`);
    if (node.instanceIpsSkipped !== undefined) {
      // As the sidecar warns of its own: the proxy is served, from the entries left (else its node id's address).
      const mode = `its IP mode: ${describeFamilies(node.ipFamilies ?? { ipv4: true, ipv6: false })}`;
      this.#opts.log('warn', describeSkippedInstanceIps(`xDS: ${node.id}: metadata INSTANCE_IPS`, node.instanceIpsSkipped, mode));
    }
  }

  #compute(entry: Connected, shared: Map<string, ProxyView | Error>): void {
    const n = entry.node;
    const key = viewKey(n, this.#selected);
    let view = shared.get(key);
    if (view === undefined) {
      try {
        view = proxyView(n, this.#read!, { version: String(this.#version), allowUnenforcedSecurity: this.#opts.allowUnenforcedSecurity ?? false, workloadIdentity: this.#opts.workloadIdentity ?? false, trustDomain: this.#opts.trustDomain, credentialsDir: this.#opts.credentialsDir, encoder: this.#encoder, resolve: (read, options) => this.#resolve(read, options), connectedNodes: () => [...[...this.#proxies.values()].map((p) => p.node), n] });
      } catch (err) {
        view = err instanceof Error ? err : new Error(String(err));
      }
      shared.set(key, view);
    }
    if (view instanceof Error) {
      // This proxy keeps its previous snapshot (if it had one): said once per change.
      entry.error = view.message;
      this.#opts.log('error', `xDS: proxy ${n.id}: ${view.message}`);
      return;
    }
    entry.error = null;
    entry.view = view;
    this.cache.set(n.id, view.snapshot);
  }

  /** The mesh resolved for `options`, once per resolution key and config version. */
  #resolve(read: ReadConfig, options: LoadOptions): LoadedConfig {
    const key = resolutionKey(options, this.#selected);
    let loaded = this.#resolved.get(key);
    if (loaded === undefined) {
      try {
        loaded = resolveConfig(read, options);
      } catch (err) {
        loaded = err instanceof Error ? err : new Error(String(err));
      }
      this.#resolved.set(key, loaded);
    }
    if (loaded instanceof Error) throw loaded;
    return loaded;
  }

  #reload(firstChangeAt: number): void {
    if (this.#closed) return;
    let read: ReadConfig;
    try {
      read = this.#opts.read(this.#opts.sources);
    } catch (err) {
      const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      this.#lastError = { message, at: new Date().toISOString() };
      this.#opts.log('error', `config change rejected; version ${this.#version} keeps being served:\n${message}`);
      return;
    }
    this.#read = read;
    this.#selected = selectorLabelKeys(read);
    this.#version++;
    this.#changedAt = firstChangeAt;
    this.#loadedAt = new Date().toISOString();
    this.#lastError = null;
    this.#watch();
    this.#views = new Map();
    this.#resolved = new Map();
    this.#encoder.nextVersion();
    for (const entry of this.#proxies.values()) this.#compute(entry, this.#views);
    this.#opts.log('info', `config version ${this.#version} loaded; ${this.#proxies.size} proxies given ${this.#views.size} distinct view(s)`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#debouncer.cancel();
    this.#watcher?.close();
    for (const feed of this.#opts.feeds ?? []) feed.close();
    await this.ads.close();
  }
}

/** Calls both sets of event handlers. */
function mergeEvents(a: AdsEvents, b: AdsEvents | undefined): AdsEvents {
  if (!b) return a;
  const out: AdsEvents = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof AdsEvents>) {
    const fa = a[key] as ((...args: unknown[]) => void) | undefined;
    const fb = b[key] as ((...args: unknown[]) => void) | undefined;
    (out as Record<string, unknown>)[key] = (...args: unknown[]) => {
      fa?.(...args);
      fb?.(...args);
    };
  }
  return out;
}
