// Assembles one running proxy: config manager (load, watch, hot reload), the data path
// (ProxyServer) and the admin API, started in a safe order and closed in reverse. Used by
// `wasmesh proxy` and `wasmesh demo`.
import { ProxyServer } from '../proxy/proxy-server.js';
import { isolatedLoadConfig, isolatedLoadConfigAsync } from '../control/isolated-load.js';
import { AdminServer } from '../admin/admin-server.js';
import { envoyAccessLogLine } from '../admin/access-log-line.js';
import { renderClusters } from '../admin/clusters-text.js';
import { ConfigManager, type ConfigLoader, type ControlLog } from '../control/config-manager.js';
import { listenError } from '../control/listen-error.js';
import type { HostPort } from './args.js';
import { createServer } from 'node:net';
import { AccessLogBuffer } from '../proxy/access-log.js';
import { WorkerPool } from '../proxy/worker-pool.js';
import { mergeClusters, mergeStats } from '../proxy/worker-snapshot.js';

export interface ProxyRuntimeOptions {
  sources: string[];
  gateway?: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** `--allow-unenforced-security` (host/config LoadOptions). */
  allowUnenforcedSecurity?: boolean;
  listen: HostPort;
  admin: HostPort;
  /** One access-log line (no newline) per finished request; absent (and no accessLogBatch): no access log. */
  accessLog?: (line: string) => void;
  /**
   * Batches of whole access-log lines (each ending in a newline), flushed every 100 ms or
   * 32 KiB, as Envoy buffers its file access log: one write per request is one syscall per
   * request. Takes precedence over accessLog.
   */
  accessLogBatch?: (text: string) => void;
  /**
   * Data-path threads (default 1): the main thread serves, and workers - 1 worker threads each
   * run their own core, listener on the same port (SO_REUSEPORT) and pools.
   */
  workers?: number;
  log: ControlLog;
  debounceMs?: number;
  /** How errors name the downstream listener (`gateway` in the demo). */
  listenRole?: string;
  /** Defaults to host/config's loadConfig, run in a child process (host/control/isolated-load.ts). */
  load?: ConfigLoader;
}

export interface ProxyRuntime {
  readonly manager: ConfigManager;
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly listenPort: number;
  readonly adminPort: number;
  /** The extra worker threads (null with workers = 1). */
  readonly workers: WorkerPool | null;
  reload(reason: string): void;
  close(): Promise<void>;
}

/**
 * Starts everything. Config is loaded and checked before any port is bound, so an invalid
 * config fails fast with its clear error (a ConfigError) and leaves nothing running.
 */
export async function startProxyRuntime(opts: ProxyRuntimeOptions): Promise<ProxyRuntime> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`wasmesh: workers must be a positive integer, got ${workers} (WORKERS_INVALID)`);
  const batch = opts.accessLogBatch ? new AccessLogBuffer(opts.accessLogBatch) : null;
  const lineLog = batch ? (line: string) => batch.push(line) : opts.accessLog;
  // Worker threads send whole batches; a per-line consumer gets them split.
  const batchLog = opts.accessLogBatch ?? (opts.accessLog ? (text: string) => {
    for (const line of text.split('\n')) if (line !== '') opts.accessLog!(line);
  } : undefined);
  // SO_REUSEPORT needs the port before the first listener binds (uWS sets it only for a given
  // port): with several workers and port 0, a free port is chosen first.
  let port = opts.listen.port;
  if (workers > 1 && port === 0) port = await freeLoopbackPort(opts.listen.host);
  const proxy = new ProxyServer({
    host: opts.listen.host,
    port,
    log: lineLog ? (entry) => lineLog(envoyAccessLogLine(entry)) : undefined,
  });
  const pool = workers > 1
    ? new WorkerPool({ count: workers - 1, host: opts.listen.host, port, limits: proxy.limits, accessLog: batchLog, log: opts.log })
    : null;
  let listening = false;
  const manager = new ConfigManager({
    sources: opts.sources,
    gateway: opts.gateway,
    namespace: opts.namespace,
    labels: opts.labels,
    allowUnenforcedSecurity: opts.allowUnenforcedSecurity,
    // The main thread applies first: a mesh it refuses reaches no worker.
    target: { apply: (mesh, version) => { proxy.apply(mesh, version); pool?.apply(mesh, version); } },
    load: opts.load ?? isolatedLoadConfig,
    // Reloads off the event loop, unless a loader was injected (tests: theirs is synchronous).
    ...(opts.load ? {} : { loadAsync: isolatedLoadConfigAsync }),
    log: opts.log,
    debounceMs: opts.debounceMs,
    onReload: (outcome, version) => {
      if (outcome === 'applied') proxy.stats.recordReload(true, version);
      else if (outcome === 'rejected') proxy.stats.recordReload(false);
    },
  });
  manager.start();
  proxy.stats.recordReload(true, manager.version);

  const statsList = (): Array<[string, number]> =>
    pool ? mergeStats([proxy.stats.list(), ...pool.snapshots().map((s) => s.stats)]) : proxy.stats.list();
  const clusters = () => (pool ? mergeClusters([proxy.clusters(), ...pool.snapshots().map((s) => s.clusters)]) : proxy.clusters());
  const admin = new AdminServer({
    host: opts.admin.host,
    port: opts.admin.port,
    sources: {
      ready: () => listening && manager.ready,
      configDump: () => manager.dump(),
      statsText: () => renderStats(statsList()) + controlStatsText(manager, pool),
      statsJson: () => ({ ...Object.fromEntries(statsList()), ...controlStats(manager, pool) }),
      clustersText: () => renderClusters(clusters()),
      clustersJson: () => ({ clusters: clusters() }),
    },
  });
  await admin.listen();
  try {
    await proxy.listen();
  } catch (err) {
    await admin.close();
    throw await explainListenFailure(opts.listenRole ?? 'listener', opts.listen, err);
  }
  if (pool) {
    try {
      await pool.start();
    } catch (err) {
      await proxy.close();
      await admin.close();
      throw err;
    }
  }
  listening = true;

  manager.watch();

  let closing: Promise<void> | null = null;
  return {
    manager,
    proxy,
    admin,
    workers: pool,
    listenPort: proxy.port,
    adminPort: admin.port,
    reload: (reason) => void manager.reloadAsync(reason),
    close: () => {
      // Stop reacting to file changes first, then stop accepting, then drain.
      closing ??= (async () => {
        manager.close();
        listening = false;
        await Promise.all([proxy.close(), pool?.close()]);
        batch?.flush();
        await admin.close();
      })();
      return closing;
    },
  };
}

/** Envoy's `/stats` text: one `name: value` line per stat. */
function renderStats(list: ReadonlyArray<readonly [string, number]>): string {
  let s = '';
  for (const [name, value] of list) s += `${name}: ${value}\n`;
  return s;
}

/** A port free on `host` now (bound and released), for listeners that share it with SO_REUSEPORT. */
function freeLoopbackPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The control shell's own counters, named in the `control.` scope of /stats. */
function controlStats(manager: ConfigManager, pool: WorkerPool | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(manager.counters)) out[`control.${name}`] = value;
  out['control.config_version'] = manager.version;
  out['control.last_reload_failed'] = manager.lastError ? 1 : 0;
  // The main thread counts as one worker.
  out['control.workers_live'] = 1 + (pool ? pool.live : 0);
  out['control.worker_crashes'] = pool ? pool.crashes : 0;
  return out;
}

function controlStatsText(manager: ConfigManager, pool: WorkerPool | null): string {
  let s = '';
  for (const [name, value] of Object.entries(controlStats(manager, pool))) s += `${name}: ${value}\n`;
  return s;
}

/**
 * uWS reports only that listening failed, not why; binding the same address with node:net
 * gives the errno, so "port 8080 is already in use" reaches the user instead of a bare failure.
 */
function explainListenFailure(role: string, at: HostPort, original: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(listenError(err, role, at.host, at.port)));
    probe.listen(at.port, at.host, () => probe.close(() => resolve(original)));
  });
}
