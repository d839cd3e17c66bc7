// Assembles the drop-in sidecar: one config manager feeding the outbound listener (mesh mode, the
// traffic iptables redirects to 15001), the inbound listener handing captured requests (15006) to
// the local app, the health port (15021) and the admin API, started in a safe order and closed in
// reverse, so that applying the capture rules never black-holes the app's traffic.
import { ProxyServer } from '../server/proxy-server.js';
import { isolatedLoadConfig, isolatedLoadConfigAsync } from '../control/isolated-load.js';
import { AdminServer } from '../admin/admin-server.js';
import { envoyAccessLogLine } from '../telemetry/access-log-line.js';
import { renderClusters } from '../admin/clusters-text.js';
import { ConfigManager, type ConfigLoader } from '../control/config-manager.js';
import type { Log } from '../common/log.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { HostPort } from '../common/host-port.js';
import { inboundMesh } from './inbound-mesh.js';
import { InboundMissLog } from './inbound-miss-log.js';
import { HealthServer } from './health-server.js';
import { sidecarStats } from './sidecar-stats.js';
import { sortRecords } from '../telemetry/stats.js';
import { controlStats } from '../control/control-stats.js';
import { explainBindFailure } from './bind-failure.js';

export interface SidecarRuntimeOptions {
  sources: string[];
  namespace?: string;
  labels?: Record<string, string>;
  /** `--allow-unenforced-security` (host/config LoadOptions). */
  allowUnenforcedSecurity?: boolean;
  outbound: HostPort;
  inbound: HostPort;
  health: HostPort;
  admin: HostPort;
  /** The app's ports (validated by the caller: non-empty, distinct, none of the sidecar's). */
  appPorts: number[];
  /** One access-log line (no newline) per finished request, either direction. */
  accessLog: (line: string) => void;
  log: Log;
  debounceMs?: number;
  /** Defaults to host/config's loadConfig, run in a child process (host/control/isolated-load.ts). */
  load?: ConfigLoader;
}

export interface SidecarPorts {
  outbound: number;
  inbound: number;
  health: number;
  admin: number;
}

export interface SidecarRuntime {
  readonly manager: ConfigManager;
  readonly outbound: ProxyServer;
  readonly inbound: ProxyServer;
  readonly admin: AdminServer;
  readonly health: HealthServer;
  /** Bound ports (the requested ones, or the OS's pick for port 0). */
  readonly ports: SidecarPorts;
  /** null when /healthz/ready answers 200, else why not. */
  notReadyReason(): string | null;
  reload(reason: string): void;
  close(): Promise<void>;
}

/**
 * Istio's access-log line ends the Envoy default fields with %UPSTREAM_CLUSTER%; the sidecar adds
 * it, since it is what tells an inbound line (`inbound|5005||`) from an outbound one.
 */
export function sidecarAccessLogLine(entry: AccessLogEntry): string {
  return `${envoyAccessLogLine(entry)} ${entry.upstreamCluster === '' ? '-' : entry.upstreamCluster}`;
}

/**
 * Starts everything. The config is loaded and checked before any port is bound, so an invalid
 * config fails fast with its clear error (a ConfigError) and leaves nothing running; a port that
 * cannot be bound closes what was opened and throws a ListenError naming the role.
 */
export async function startSidecarRuntime(opts: SidecarRuntimeOptions): Promise<SidecarRuntime> {
  const missLog = new InboundMissLog(opts.appPorts, opts.log);
  const outbound = new ProxyServer({
    host: opts.outbound.host,
    port: opts.outbound.port,
    log: (entry) => opts.accessLog(sidecarAccessLogLine(entry)),
  });
  const inbound = new ProxyServer({
    host: opts.inbound.host,
    port: opts.inbound.port,
    log: (entry) => {
      opts.accessLog(sidecarAccessLogLine(entry));
      missLog.record(entry);
    },
  });
  // Generated from flags, not from the YAML: it never changes while the sidecar runs.
  const inboundConfig = inboundMesh(opts.appPorts);
  inbound.apply(inboundConfig, 1);

  const manager = new ConfigManager({
    sources: opts.sources,
    namespace: opts.namespace,
    labels: opts.labels,
    allowUnenforcedSecurity: opts.allowUnenforcedSecurity,
    target: outbound,
    load: opts.load ?? isolatedLoadConfig,
    // Reloads off the event loop, unless a loader was injected (tests: theirs is synchronous).
    ...(opts.load ? {} : { loadAsync: isolatedLoadConfigAsync }),
    log: opts.log,
    debounceMs: opts.debounceMs,
    onReload: (outcome, version) => {
      if (outcome === 'applied') outbound.stats.recordReload(true, version);
      else if (outcome === 'rejected') outbound.stats.recordReload(false);
    },
  });
  manager.start();
  outbound.stats.recordReload(true, manager.version);

  const up = { outbound: false, inbound: false };
  let closing = false;
  const notReadyReason = (): string | null => {
    if (closing) return 'draining (shutting down)';
    if (!manager.ready) return 'no configuration loaded';
    if (!up.outbound) return `outbound listener ${opts.outbound.host}:${opts.outbound.port} not up`;
    if (!up.inbound) return `inbound listener ${opts.inbound.host}:${opts.inbound.port} not up`;
    return null;
  };
  // The bound port, so that a test's port 0 shows as the port it got.
  const stats = () => sidecarStats(outbound.stats, inbound.stats, { host: opts.inbound.host, port: inbound.port || opts.inbound.port });
  const admin = new AdminServer({
    host: opts.admin.host,
    port: opts.admin.port,
    sources: {
      ready: () => notReadyReason() === null,
      configDump: () => ({
        ...manager.dump(),
        inbound: { listener: `${opts.inbound.host}:${opts.inbound.port}`, appPorts: opts.appPorts, mesh: inboundConfig },
      }),
      stats: () => sortRecords([...stats(), ...controlStats(manager)]),
      clustersText: () => renderClusters([...outbound.clusters(), ...inbound.clusters()]),
      clustersJson: () => ({ clusters: [...outbound.clusters(), ...inbound.clusters()] }),
    },
  });
  const health = new HealthServer({ host: opts.health.host, port: opts.health.port, notReadyReason });

  // Admin and health first, so that probes meet a 503 rather than a refused connection while the
  // data path comes up; then the data path, outbound before inbound.
  const bind = async (role: string, at: HostPort, target: { listen(): Promise<void> }, uws: boolean) => {
    try {
      await target.listen();
    } catch (err) {
      // Each close is safe on what never listened: leave nothing bound or pooled behind.
      await Promise.all([outbound.close(), inbound.close()]);
      await admin.close();
      await health.close();
      throw uws ? await explainBindFailure(role, at, err) : err;
    }
  };
  await bind('admin', opts.admin, admin, false);
  await bind('health', opts.health, health, false);
  await bind('outbound listener', opts.outbound, outbound, true);
  up.outbound = true;
  await bind('inbound listener', opts.inbound, inbound, true);
  up.inbound = true;

  manager.watch();

  let closed: Promise<void> | null = null;
  return {
    manager,
    outbound,
    inbound,
    admin,
    health,
    ports: { outbound: outbound.port, inbound: inbound.port, health: health.port, admin: admin.port },
    notReadyReason,
    reload: (reason) => void manager.reloadAsync(reason),
    close: () => {
      // Readiness fails first (probes stop sending), then file watching stops, both listeners
      // stop accepting and drain together, and the admin and health ports go last.
      closed ??= (async () => {
        closing = true;
        manager.close();
        await Promise.all([outbound.close(), inbound.close()]);
        up.outbound = up.inbound = false;
        await admin.close();
        await health.close();
      })();
      return closed;
    },
  };
}
