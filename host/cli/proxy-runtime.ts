// Assembles one running proxy: config manager (load, watch, hot reload), the data path
// (ProxyServer) and the admin API, started in a safe order and closed in reverse. Used by
// `wasmesh proxy` and `wasmesh demo`.
import { ProxyServer } from '../server/proxy-server.js';
import { isolatedLoadConfig, isolatedLoadConfigAsync } from '../control/isolated-load.js';
import { AdminServer } from '../admin/admin-server.js';
import { envoyAccessLogLine } from '../telemetry/access-log-line.js';
import { renderClusters } from '../admin/clusters-text.js';
import { ConfigManager, type ConfigLoader } from '../control/config-manager.js';
import type { Log } from '../common/log.js';
import { listenError } from '../common/listen-error.js';
import type { HostPort } from '../common/host-port.js';
import { createServer } from 'node:net';
import { AccessLogBuffer } from '../telemetry/access-log.js';
import { WorkerPool } from '../server/worker-pool.js';
import { mergeClusters, mergeStats } from '../server/worker-snapshot.js';
import { sortRecords, type StatRecord } from '../telemetry/stats.js';
import { controlStats } from '../control/control-stats.js';

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
  log: Log;
  debounceMs?: number;
  /** How errors name the downstream listener (`gateway` in the demo). */
  listenRole?: string;
  /** Defaults to host/config's loadConfig, run in a child process (host/control/isolated-load.ts). */
  load?: ConfigLoader;
  /** Where load warnings go (a WarningDedupe shared by the proxies of one process); default: `log`. */
  reportWarnings?: (warnings: readonly string[], loadKey: string) => void;
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
  const port = opts.listen.port;
  const proxy = new ProxyServer({
    host: opts.listen.host,
    port,
    log: lineLog ? (entry) => lineLog(envoyAccessLogLine(entry)) : undefined,
  });
  // Created once the main thread listens: the workers accept on its socket.
  let pool: WorkerPool | null = null;
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
    reportWarnings: opts.reportWarnings,
    debounceMs: opts.debounceMs,
    onReload: (outcome, version) => {
      if (outcome === 'applied') proxy.stats.recordReload(true, version);
      else if (outcome === 'rejected') proxy.stats.recordReload(false);
    },
  });
  manager.start();
  proxy.stats.recordReload(true, manager.version);

  const statsList = (): StatRecord[] =>
    pool ? mergeStats([proxy.stats.records(), ...pool.snapshots().map((s) => s.stats)]) : proxy.stats.records();
  const clusters = () => (pool ? mergeClusters([proxy.clusters(), ...pool.snapshots().map((s) => s.clusters)]) : proxy.clusters());
  const admin = new AdminServer({
    host: opts.admin.host,
    port: opts.admin.port,
    sources: {
      ready: () => listening && manager.ready,
      configDump: () => manager.dump(),
      // The main thread counts as one worker.
      stats: () => sortRecords([...statsList(), ...controlStats(manager, { live: 1 + (pool ? pool.live : 0), crashes: pool ? pool.crashes : 0 })]),
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
  if (workers > 1) {
    try {
      const listenFds = await proxy.listenFds(workers - 1);
      pool = new WorkerPool({ count: workers - 1, host: opts.listen.host, port: proxy.port, listenFds, limits: proxy.limits, accessLog: batchLog, log: opts.log });
      // Versions applied before the workers existed reach them through start().
      if (manager.current) pool.apply(manager.current.mesh, manager.version);
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
