// Assembles one running proxy: config manager (load, watch, hot reload), the data path
// (ProxyServer) and the admin API, started in a safe order and closed in reverse. Used by
// `wasmesh proxy` and `wasmesh demo`.
import { ProxyServer } from '../proxy/proxy-server.js';
import { loadConfig } from '../config/load-config.js';
import { AdminServer } from '../admin/admin-server.js';
import { envoyAccessLogLine } from '../admin/access-log-line.js';
import { renderClusters } from '../admin/clusters-text.js';
import { ConfigManager, type ConfigLoader, type ControlLog } from '../control/config-manager.js';
import { listenError } from '../control/listen-error.js';
import type { HostPort } from './args.js';
import { createServer } from 'node:net';

export interface ProxyRuntimeOptions {
  sources: string[];
  gateway?: string;
  namespace?: string;
  labels?: Record<string, string>;
  listen: HostPort;
  admin: HostPort;
  /** One access-log line (no newline) per finished request. */
  accessLog: (line: string) => void;
  log: ControlLog;
  debounceMs?: number;
  /** How errors name the downstream listener (`gateway` in the demo). */
  listenRole?: string;
  /** Defaults to host/config's loadConfig. */
  load?: ConfigLoader;
}

export interface ProxyRuntime {
  readonly manager: ConfigManager;
  readonly proxy: ProxyServer;
  readonly admin: AdminServer;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly listenPort: number;
  readonly adminPort: number;
  reload(reason: string): void;
  close(): Promise<void>;
}

/**
 * Starts everything. Config is loaded and checked before any port is bound, so an invalid
 * config fails fast with its clear error (a ConfigError) and leaves nothing running.
 */
export async function startProxyRuntime(opts: ProxyRuntimeOptions): Promise<ProxyRuntime> {
  const proxy = new ProxyServer({
    host: opts.listen.host,
    port: opts.listen.port,
    log: (entry) => opts.accessLog(envoyAccessLogLine(entry)),
  });
  let listening = false;
  const manager = new ConfigManager({
    sources: opts.sources,
    gateway: opts.gateway,
    namespace: opts.namespace,
    labels: opts.labels,
    target: proxy,
    load: opts.load ?? loadConfig,
    log: opts.log,
    debounceMs: opts.debounceMs,
    onReload: (outcome, version) => {
      if (outcome === 'applied') proxy.stats.recordReload(true, version);
      else if (outcome === 'rejected') proxy.stats.recordReload(false);
    },
  });
  manager.start();
  proxy.stats.recordReload(true, manager.version);

  const admin = new AdminServer({
    host: opts.admin.host,
    port: opts.admin.port,
    sources: {
      ready: () => listening && manager.ready,
      configDump: () => manager.dump(),
      statsText: () => proxy.stats.render() + controlStatsText(manager),
      statsJson: () => ({ ...proxy.stats.toJSON(), ...controlStats(manager) }),
      clustersText: () => renderClusters(proxy.clusters()),
      clustersJson: () => ({ clusters: proxy.clusters() }),
    },
  });
  await admin.listen();
  try {
    await proxy.listen();
  } catch (err) {
    await admin.close();
    throw await explainListenFailure(opts.listenRole ?? 'listener', opts.listen, err);
  }
  listening = true;

  manager.watch();

  let closing: Promise<void> | null = null;
  return {
    manager,
    proxy,
    admin,
    listenPort: proxy.port,
    adminPort: admin.port,
    reload: (reason) => void manager.reload(reason),
    close: () => {
      // Stop reacting to file changes first, then stop accepting, then drain.
      closing ??= (async () => {
        manager.close();
        listening = false;
        await proxy.close();
        await admin.close();
      })();
      return closing;
    },
  };
}

/** The control shell's own counters, named in the `control.` scope of /stats. */
function controlStats(manager: ConfigManager): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(manager.counters)) out[`control.${name}`] = value;
  out['control.config_version'] = manager.version;
  out['control.last_reload_failed'] = manager.lastError ? 1 : 0;
  return out;
}

function controlStatsText(manager: ConfigManager): string {
  let s = '';
  for (const [name, value] of Object.entries(controlStats(manager))) s += `${name}: ${value}\n`;
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
