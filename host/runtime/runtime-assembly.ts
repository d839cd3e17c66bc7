// What every wasmesh process runs around its data path, assembled once for the proxy and the
// sidecar: a config manager (host/config in a child process, hot reload) feeding the listeners,
// the admin API over them, ports brought up in a safe order (a failure closes what was opened
// and names the port), readiness, and a drain that closes in reverse. The proxy is one listener
// (and its worker threads) on this assembly; the sidecar two listeners and a health port.
import type { AppProber } from '../admin/app-prober.js';
import { StatsPort, proxyPrometheusText } from '../admin/stats-port.js';
import { MergedStatsPort, type AppMetrics } from '../admin/merged-stats-port.js';
import { AdminServer } from '../admin/admin-server.js';
import type { HostPort } from '../common/host-port.js';
import type { Log } from '../common/log.js';
import { ConfigManager, type ConfigLoader, type ConfigTarget } from '../control/config-manager.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import { XdsConfigSource, type XdsIdentity } from '../control/xds-config-source.js';
import type { AdsTls } from '../xds/ads-client.js';
import { isolatedLoadConfig, isolatedLoadConfigAsync } from '../control/isolated-load.js';
import type { Stats } from '../telemetry/stats.js';
import type { AccessLogSink } from './access-log-sink.js';
import { adminSources, type AdminView } from './admin-sources.js';
import { explainListenFailure } from './listen-failure.js';
import { CertificateReadiness } from './certificate-readiness.js';
import { certsJson } from '../admin/certs-json.js';
import { LogLevels } from '../common/log-levels.js';
import { adminExtras } from './admin-extras.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';

/** Where the config comes from and where its news goes: what every runtime takes. */
export interface ConfigSourceOptions {
  sources: string[];
  gateway?: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** `--allow-unenforced-security` (host/config LoadOptions). */
  allowUnenforcedSecurity?: boolean;
  /** The proxy has a workload certificate (LoadOptions.workloadIdentity); set by the runtime from its source. */
  workloadIdentity?: boolean;
  /** The workload identity's trust domain (LoadOptions.trustDomain). */
  trustDomain?: string;
  /** `--credentials-dir` (host/config LoadOptions.credentialsDir). */
  credentialsDir?: string;
  log: Log;
  debounceMs?: number;
  /** Defaults to host/config's loadConfig, run in a child process (host/control/isolated-load.ts). */
  load?: ConfigLoader;
  /** Where load warnings go (a WarningDedupe shared by the proxies of one process); default: `log`. */
  reportWarnings?: (warnings: readonly string[], loadKey: string) => void;
  /**
   * The control plane's xDS address: configuration comes over ADS instead of from `sources`
   * (which must then be empty), the proxy identifying itself as `xdsIdentity`.
   */
  xds?: HostPort;
  xdsIdentity?: XdsIdentity;
  /** xDS reconnect backoff (tests shorten it). */
  xdsBackoff?: { baseMs: number; maxMs: number };
  /** xDS over TLS with a token (`--xds-tls`: istiod's 15012). */
  xdsTls?: AdsTls;
}

/** A port the runtime binds: its role names it in errors and in readiness. */
export interface RuntimePort {
  /** `admin`, `health`, `gateway`, `outbound listener`. */
  readonly role: string;
  readonly at: HostPort;
  listen(): Promise<void>;
  /** Safe on a port that never listened: a failed start closes every port. */
  close(): Promise<void>;
  /**
   * uWS reports only that listening failed: true has a failure explained by a probe bind
   * (explainListenFailure). node:http servers throw a ListenError of their own.
   */
  readonly probeOnFailure?: boolean;
}

/**
 * The logger the data path's operational lines go through (TLS handshake and upstream connect
 * failures, refused passthrough, JWKS fetches…): Envoy's `connection` logger, most of them being
 * connection events. The access log is not an operational log and is never gated.
 */
export const DATA_PATH_LOGGER = 'connection';

/** A proxy process's loggers, created before its servers so that their lines can be gated. */
export function runtimeLogLevels(): LogLevels {
  return new LogLevels(['admin', 'config', DATA_PATH_LOGGER]);
}

export interface AssemblyOptions {
  /** The loggers /logging sets (runtimeLogLevels); absent: `admin` and `config` only. */
  logLevels?: LogLevels;
  config: ConfigSourceOptions;
  admin: HostPort;
  /** Where each config version goes (the data path). */
  target: ConfigTarget;
  /** The stats that count reloads: the config-fed listener's. */
  reloadStats: Stats;
  /** Flushed once the listeners drained, so that their last lines go out. */
  accessLog: Pick<AccessLogSink, 'flush'>;
  /** What the admin API shows of the listeners. */
  view: AdminView;
  /** The proxy's workload certificate, when it has an identity: not ready until one is held. */
  workloadCertificates?: WorkloadCertificateSource;
  /**
   * Istio's Prometheus port (15090, host/admin/stats-port.ts); absent: none. `required`: a bind
   * failure stops the start like any port's; else it is logged and the proxy serves without it
   * (the default address, which another proxy on the same host may hold).
   */
  stats?: { at: HostPort; required: boolean };
  /** Istio's agent port merging the proxy's metrics with the app's (15020, host/admin/merged-stats-port.ts); absent: none. Same `required` rule. */
  mergedStats?: { at: HostPort; required: boolean; app?: AppMetrics; probers?: AppProber };
  /**
   * Run by close() once readiness fails and before the listeners close (the sidecar's
   * termination drain, host/runtime/termination-drain.ts); absent: the listeners drain as they close.
   */
  drain?: () => Promise<void>;
}

export interface AssemblyPorts {
  /**
   * Ports that answer while the data path comes up (the sidecar's health port: probes meet a 503,
   * not a refused connection). Bound right after the admin API, closed last.
   */
  probes?: RuntimePort[];
  /** The data path, bound in order; readiness waits for every one. Drained together on close. */
  listeners: RuntimePort[];
}

export class RuntimeAssembly {
  /** The config source: the files (ConfigManager) or the control plane (XdsConfigSource). */
  readonly manager: ProxyConfigSource;
  readonly admin: AdminServer;
  /** The operational log's loggers (admin /logging): `config` (the config source), `admin`, and the runtime's (runtimeLogLevels). */
  readonly logLevels: LogLevels;
  /** Resolves when the admin API's POST /quitquitquit asked the process to exit (the runtime is closing then). */
  readonly quitRequested: Promise<void>;
  #resolveQuit!: () => void;
  readonly #accessLog: Pick<AccessLogSink, 'flush'>;
  readonly #adminPort: RuntimePort;
  /** Istio's Prometheus port (null: none). */
  readonly statsPort: StatsPort | null;
  readonly #statsRuntimePort: RuntimePort | null;
  /** Istio's agent port for merged metrics (null: none). */
  readonly mergedStatsPort: MergedStatsPort | null;
  readonly #mergedRuntimePort: RuntimePort | null;
  readonly #certificate: CertificateReadiness | null;
  #probes: RuntimePort[] = [];
  // null until start(): a runtime not yet started is not ready.
  #listeners: RuntimePort[] | null = null;
  readonly #up = new Set<RuntimePort>();
  #closing = false;
  readonly #adminLog: Log;
  #closed: Promise<void> | null = null;
  readonly #drain: (() => Promise<void>) | undefined;

  /**
   * Loads and applies the config; throws its clear error (a ConfigError) before any port is
   * bound, so an invalid config fails fast and leaves nothing running.
   */
  constructor(opts: AssemblyOptions) {
    this.logLevels = opts.logLevels ?? new LogLevels(['admin', 'config']);
    const c = { ...opts.config, log: this.logLevels.gate('config', opts.config.log) };
    this.#adminLog = this.logLevels.gate('admin', opts.config.log);
    this.quitRequested = new Promise((resolve) => (this.#resolveQuit = resolve));
    this.#drain = opts.drain;
    const stats = opts.reloadStats;
    this.#accessLog = opts.accessLog;
    this.manager = c.xds !== undefined
      ? new XdsConfigSource({ xds: c.xds, identity: c.xdsIdentity!, target: opts.target, log: c.log, backoff: c.xdsBackoff, reportWarnings: c.reportWarnings, ...(c.xdsTls ? { tls: c.xdsTls } : {}) })
      : new ConfigManager({
      sources: c.sources,
      gateway: c.gateway,
      namespace: c.namespace,
      labels: c.labels,
      allowUnenforcedSecurity: c.allowUnenforcedSecurity,
      workloadIdentity: c.workloadIdentity,
      trustDomain: c.trustDomain,
      credentialsDir: c.credentialsDir,
      target: opts.target,
      load: c.load ?? isolatedLoadConfig,
      // Reloads off the event loop, unless a loader was injected (tests: theirs is synchronous).
      ...(c.load ? {} : { loadAsync: isolatedLoadConfigAsync }),
      log: c.log,
      reportWarnings: c.reportWarnings,
      debounceMs: c.debounceMs,
      onReload: (outcome, version) => {
        if (outcome === 'applied') stats.recordReload(true, version);
        else if (outcome === 'rejected') stats.recordReload(false);
      },
    });
    this.manager.start();
    if (this.manager.ready) stats.recordReload(true, this.manager.version);
    this.#certificate = opts.workloadCertificates ? new CertificateReadiness(opts.workloadCertificates) : null;
    const extras = adminExtras({ ...opts, manager: this.manager, notReadyReason: () => this.notReadyReason(), logLevels: this.logLevels, quit: () => this.#quit(), adminPort: () => this.admin.port });
    const sources = { ...adminSources(this.manager, () => this.notReadyReason() === null, opts.view, extras), notReadyReason: () => this.notReadyReason(), certs: () => certsJson(opts.workloadCertificates?.current() ?? null) };
    this.admin = new AdminServer({ host: opts.admin.host, port: opts.admin.port, sources });
    this.#adminPort = { role: 'admin', at: opts.admin, listen: () => this.admin.listen(), close: () => this.admin.close() };
    const st = opts.stats;
    this.statsPort = st === undefined ? null : new StatsPort(st.at.host, st.at.port, sources);
    const ms = opts.mergedStats;
    this.mergedStatsPort = ms === undefined ? null : new MergedStatsPort({ host: ms.at.host, port: ms.at.port, proxyText: () => proxyPrometheusText(sources), ...(ms.app ? { app: ms.app } : {}), ...(ms.probers ? { probers: ms.probers } : {}), quit: () => this.#quit() });
    this.#mergedRuntimePort = ms === undefined ? null : optionalPort({ role: 'merged stats', at: ms.at, listen: () => this.mergedStatsPort!.listen(), close: () => this.mergedStatsPort!.close() }, ms.required, c.log);
    this.#statsRuntimePort = st === undefined ? null : optionalPort({ role: 'stats', at: st.at, listen: () => this.statsPort!.listen(), close: () => this.statsPort!.close(), probeOnFailure: true }, st.required, c.log);
  }

  /** null when the runtime serves (config loaded, every listener up, not draining); else why not. */
  notReadyReason(): string | null {
    if (this.#closing) return 'draining (shutting down)';
    if (!this.manager.ready) return 'no configuration loaded';
    if (this.#listeners === null) return 'not started';
    const down = this.#listeners.find((l) => !this.#up.has(l));
    if (down) return `${down.role} ${down.at.host}:${down.at.port} not up`;
    return this.#certificate?.notReadyReason() ?? null;
  }

  /**
   * Binds the admin API, then the probe ports, then the listeners in order, then watches the
   * files. A port that cannot be bound closes every port and throws (a ListenError naming the
   * role where the failure can be explained).
   */
  async start(ports: AssemblyPorts): Promise<void> {
    if (this.#listeners !== null) throw new Error('wasmesh: the runtime was started already (RUNTIME_STARTED)');
    this.#probes = ports.probes ?? [];
    const listeners = (this.#listeners = ports.listeners);
    await this.#bind(this.#adminPort);
    if (this.#statsRuntimePort !== null) await this.#bind(this.#statsRuntimePort);
    if (this.#mergedRuntimePort !== null) await this.#bind(this.#mergedRuntimePort);
    for (const p of this.#probes) await this.#bind(p);
    for (const l of listeners) {
      await this.#bind(l);
      this.#up.add(l);
    }
    this.manager.watch();
  }

  async #bind(port: RuntimePort): Promise<void> {
    try {
      await port.listen();
    } catch (err) {
      // Leave nothing bound, pooled or watched behind.
      this.manager.close();
      await this.#closePorts();
      throw port.probeOnFailure ? await explainListenFailure(port.role, port.at, err) : err;
    }
  }

  /** POST /quitquitquit: the graceful close, and whoever runs the process is told (quitRequested). */
  #quit(): void {
    this.#adminLog('info', 'POST /quitquitquit: shutting down (in-flight requests finish first)');
    this.#resolveQuit();
    void this.close();
  }

  reload(reason: string): void {
    void this.manager.reloadAsync(reason);
  }

  /**
   * Readiness fails first (probes stop sending), then file watching stops, the listeners stop
   * accepting and drain together, the access log is flushed, and the admin API and probe ports
   * go last.
   */
  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      this.#closing = true;
      // Readiness fails from here; the data path still serves while it drains (config updates too).
      if (this.#drain !== undefined && this.#listeners !== null) await this.#drain();
      this.manager.close();
      this.#certificate?.close();
      await this.#closePorts();
    })());
  }

  async #closePorts(): Promise<void> {
    await Promise.all((this.#listeners ?? []).map((l) => l.close()));
    this.#up.clear();
    this.#accessLog.flush();
    await this.#adminPort.close();
    await this.#statsRuntimePort?.close();
    await this.#mergedRuntimePort?.close();
    for (const p of this.#probes) await p.close();
  }
}

/** A port whose bind failure, when not `required`, is a warning: the proxy serves without it. */
function optionalPort(port: RuntimePort, required: boolean, log: ConfigSourceOptions['log']): RuntimePort {
  if (required) return port;
  return {
    ...port,
    listen: async () => {
      try {
        await port.listen();
      } catch (err) {
        const why = await explainListenFailure(port.role, port.at, err);
        log('warn', `${why instanceof Error ? why.message : String(why)}; serving without it (istio_* stay on the admin API's /stats/prometheus; --stats <host:port> moves it, --stats off turns it off)`);
      }
    },
  };
}
