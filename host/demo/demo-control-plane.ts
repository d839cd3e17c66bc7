// The demos' control plane, in the demo's own process: host/control-plane's ControlPlane watching
// the run folder (what `wasmesh control-plane -f <run folder>` runs), its xDS port (15010) and
// its monitoring port (15014: /debug/syncz, what `wasmesh proxy-status` reads). The demo's
// proxies take their config from it over xDS, as a mesh's proxies take theirs from istiod; an
// edit of the run folder is pushed to them, an invalid one reported while the last good config
// keeps serving. With `ca`, also the mesh CA (`wasmesh control-plane --ca-dir`): Istio's CSR API
// on its TLS port (15012), and every proxy's view computed for proxies holding workload
// certificates, so that STRICT and ISTIO_MUTUAL are enforced rather than refused. Also the xDS
// identity each demo proxy presents, and the wait for every proxy's first config.
import { join } from 'node:path';
import { readConfig } from '../config/index.js';
import { DEFAULT_TRUST_DOMAIN } from '../identity/spiffe-id.js';
import { ControlPlane } from '../control-plane/control-plane.js';
import { MonitoringServer } from '../control-plane/monitoring-server.js';
import type { HostPort } from '../common/host-port.js';
import type { Log } from '../common/log.js';
import { ListenError } from '../common/listen-error.js';
import type { XdsIdentity } from '../control/xds-config-source.js';
import { explainListenFailure } from '../runtime/listen-failure.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import type { CaService } from '../identity/ca-service.js';

/** The control plane's ports the demos take unless told otherwise (istiod's). */
export const DEMO_XDS = { host: '127.0.0.1', port: 15010 } as const;
export const DEMO_MONITORING = { host: '127.0.0.1', port: 15014 } as const;
export const DEMO_CA = { host: '127.0.0.1', port: 15012 } as const;

/** ListenError roles of the control plane's ports (the demo names the flag that moves each). */
export const XDS_ROLE = 'control plane xDS';
export const MONITORING_ROLE = 'control plane monitoring';
export const CA_ROLE = 'control plane CA';

export interface DemoControlPlaneOptions {
  runDir: string;
  xds: HostPort;
  monitoring: HostPort;
  /** `--allow-unenforced-security` for every proxy's view (seed 003's ISTIO_MUTUAL). */
  allowUnenforcedSecurity: boolean;
  /** `--credentials-dir`: Gateways' credentialName secrets (sent inline to the wasmesh gateway). */
  credentialsDir?: string;
  log: Log;
  /** Push debounce (Istio's 100 ms quiet period, 10 s longest wait by default). */
  debounce?: { quietMs: number; maxDelayMs: number };
  /** Runs the mesh CA with its files in `dir` (generated when empty) on `listen` (Istio's 15012). */
  ca?: { dir: string; listen: HostPort };
}

/** The running CA: where proxies ask for certificates and the trust anchor they check it with. */
export interface DemoCa {
  readonly dir: string;
  /** host:port of the CSR API (TLS). */
  readonly address: string;
  /** <dir>/root-cert.pem */
  readonly rootCertFile: string;
  readonly service: CaService;
}

export interface DemoControlPlane {
  readonly controlPlane: ControlPlane;
  readonly monitoring: MonitoringServer;
  /** Where the proxies connect (`--xds`): the bound port. */
  readonly xds: HostPort;
  /** http://host:port of the monitoring port, bound. */
  readonly monitoringUrl: string;
  /** The `--control-plane` address `wasmesh proxy-status` needs, null when it is its default. */
  readonly proxyStatusFlag: string | null;
  /** The mesh CA, when started with `ca`. */
  readonly ca: DemoCa | null;
  close(): Promise<void>;
}

const url = (host: string, port: number): string => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * Loads the run folder (a ConfigError when it is invalid), then binds xDS and monitoring. A port
 * that cannot be bound is a ListenError naming its role; whatever was started is closed first.
 */
export async function startDemoControlPlane(opts: DemoControlPlaneOptions): Promise<DemoControlPlane> {
  const controlPlane = new ControlPlane({
    sources: [opts.runDir],
    read: (s) => readConfig(s),
    allowUnenforcedSecurity: opts.allowUnenforcedSecurity,
    credentialsDir: opts.credentialsDir,
    // With its CA the mesh's proxies hold workload certificates: mTLS settings are enforced.
    workloadIdentity: opts.ca !== undefined,
    debounce: opts.debounce,
    log: opts.log,
  });
  const monitoring = new MonitoringServer(controlPlane);
  let ca: CaService | null = null;
  const close = async (): Promise<void> => {
    await controlPlane.close();
    await monitoring.close();
    await ca?.close();
  };
  try {
    controlPlane.start();
    try {
      await controlPlane.listen(opts.xds.host, opts.xds.port);
    } catch (err) {
      throw await explainListenFailure(XDS_ROLE, opts.xds, err);
    }
    try {
      await monitoring.listen(opts.monitoring.host, opts.monitoring.port);
    } catch (err) {
      throw await explainListenFailure(MONITORING_ROLE, opts.monitoring, err);
    }
    if (opts.ca) {
      const at = opts.ca.listen;
      // Loaded only for the mTLS demo: the X.509 library costs ~0.3 s at start.
      const { startCaService } = await import('../identity/ca-service.js');
      try {
        ca = await startCaService({
          dir: opts.ca.dir,
          trustDomain: DEFAULT_TRUST_DOMAIN,
          listen: at,
          log: opts.log,
          alsoServe: (server, authenticate) => controlPlane.ads.attach(server, authenticate),
        });
      } catch (err) {
        // A bind failure is told by a probe (port in use, …); anything else (the CA files) as it came.
        throw await explainListenFailure(CA_ROLE, at, err);
      }
      monitoring.showCa({ stats: () => ca!.server.stats(), expiry: ca.ca.expiry });
    }
  } catch (err) {
    await close();
    throw err;
  }
  const xds = { host: opts.xds.host, port: controlPlane.ads.port };
  const isDefault = opts.monitoring.host === DEMO_MONITORING.host && monitoring.port === DEMO_MONITORING.port;
  return {
    controlPlane,
    monitoring,
    xds,
    monitoringUrl: url(opts.monitoring.host, monitoring.port),
    proxyStatusFlag: isDefault ? null : `${opts.monitoring.host}:${monitoring.port}`,
    ca: ca === null ? null : {
      dir: opts.ca!.dir,
      address: `${opts.ca!.listen.host}:${ca.port}`,
      rootCertFile: join(opts.ca!.dir, 'root-cert.pem'),
      service: ca,
    },
    close,
  };
}

/** The identity of a demo's ingress gateway: a router serving `gateway` by name. */
export function gatewayIdentity(gateway: string): XdsIdentity {
  return { type: 'router', pod: 'istio-ingressgateway', ip: '127.0.0.1', namespace: 'default', labels: { istio: 'ingressgateway' }, gateway };
}

/** The identity of a workload's sidecar: its pod named after the WorkloadEntry, with its labels. */
export function sidecarIdentity(workload: string, labels: Record<string, string>): XdsIdentity {
  return { type: 'sidecar', pod: workload, ip: '127.0.0.1', namespace: 'default', labels };
}

/**
 * Waits until every proxy applied its first config from the control plane, so that what the demo
 * prints can be curled at once. Throws after `ms`, naming the proxies still waiting and what the
 * control plane said about them.
 */
export async function untilProgrammed(cp: DemoControlPlane, proxies: ReadonlyArray<{ role: string; runtime: { readonly manager: ProxyConfigSource } }>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const waiting = proxies.filter((p) => !p.runtime.manager.ready);
    if (waiting.length === 0) return;
    if (Date.now() > end) {
      const errors = cp.controlPlane.connected().filter((c) => c.error !== null).map((c) => `${c.node.id}: ${c.error}`);
      throw new Error(
        `the control plane at ${cp.xds.host}:${cp.xds.port} did not program ${waiting.map((p) => p.role).join(', ')} within ${ms} ms` +
          (errors.length > 0 ? ` (${errors.join('; ')})` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The flag a ListenError of the control plane's ports is moved with, or null. */
export function controlPlaneFlag(err: unknown): string | null {
  if (!(err instanceof ListenError)) return null;
  if (err.role === XDS_ROLE) return '--xds-listen <host:port>';
  if (err.role === MONITORING_ROLE) return '--monitoring <host:port>';
  if (err.role === CA_ROLE) return '--secure-listen <host:port>';
  return null;
}

/** The lines every demo prints about its control plane and `wasmesh proxy-status`. */
export function controlPlaneLines(cp: DemoControlPlane, width: number): { where: string[]; tryIt: string[] } {
  return {
    where: [
      `  ${'control plane'.padEnd(width)}xDS ${cp.xds.host}:${cp.xds.port}   monitoring ${cp.monitoringUrl}/   (/ready /metrics /debug/syncz /debug/configz)`,
    ],
    tryIt: [
      'The proxies take their config from the control plane over xDS; their sync state:',
      `  npx wasmesh proxy-status${cp.proxyStatusFlag === null ? '' : ` --control-plane ${cp.proxyStatusFlag}`}`,
    ],
  };
}
