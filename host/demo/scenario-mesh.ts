// Runs one seed scenario on loopback as Istio would run it in a cluster: the scenario's apps
// on their WorkloadEntry ports, a control plane (istiod's role, host/demo/demo-control-plane.ts)
// watching a run folder that holds the example's YAML unchanged (only the WorkloadEntry ports
// rewritten when the apps run elsewhere), an ingress gateway (the proxy in gateway mode) in front
// of the first service, and a sidecar (the proxy in mesh mode, Host-based routing) for every app
// that calls another service, each proxy programmed by the control plane over xDS. Used by
// `wasmesh demo <scenario>` and by the scenario tests, so the demo is what the tests exercise.
// With `strictMtls` (`--mtls`) the mesh runs as with Istio's mesh-wide STRICT PeerAuthentication:
// the control plane runs its CA in the run folder, every app (not only the callers) gets a sidecar
// with its own workload identity (a token per service account, a certificate from the CA), whose
// inbound listener takes the app's WorkloadEntry port while the app moves to a free loopback port
// behind it, and the WorkloadEntries get what injection gives a pod (serviceAccount, the tlsMode
// label): calls between apps then go sidecar → sidecar over mTLS, and plaintext is refused.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPort } from '../common/host-port.js';
import { startProxyRuntime } from '../runtime/proxy-runtime.js';
import { startSidecarRuntime } from '../runtime/sidecar-runtime.js';
import type { ProxyConfigSource } from '../control/config-source.js';
import { freePort } from '../common/free-port.js';
import type { Log } from '../common/log.js';
import type { OutboundClient } from './apps/outbound-call.js';
import type { ServiceApp } from './apps/service-app.js';
import { withWorkloadPorts, type WorkloadPorts } from './demo-config.js';
import { WarningDedupe } from '../control/warning-dedupe.js';
import { gatewayIdentity, sidecarIdentity, startDemoControlPlane, untilProgrammed, type DemoCa, type DemoControlPlane } from './demo-control-plane.js';
import { demoSpiffeId, startDemoIdentity, type DemoAccount } from './demo-identity.js';
import { withInjectedSidecars, type WorkloadAccounts } from './injected-workloads.js';
import { basename } from 'node:path';

/** The namespace of the scenarios' workloads (their WorkloadEntries name none). */
const WORKLOAD_NAMESPACE = 'default';
/** The ingress gateway's service account, as Istio installs it. */
export const GATEWAY_ACCOUNT: DemoAccount = { namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' };

/** One app of a scenario, named after its WorkloadEntry. */
export interface ScenarioApp {
  /** The WorkloadEntry's name (`middleware-canary`): its port is rewritten to the app's. */
  workload: string;
  /** The port the example's WorkloadEntry names. */
  port: number;
  /**
   * Whether the app calls other services and so gets a sidecar (the proxy in mesh mode) for
   * its outbound calls. Inbound traffic goes to the app directly: the sidecar's inbound side
   * (Istio's 15006) adds nothing these scenarios show without strictMtls, which gives every app
   * a sidecar with an inbound listener.
   */
  sidecar: boolean;
  /** The pod's service account (`serviceAccountName`): its SPIFFE ID with --mtls; absent: `default`, as Kubernetes. */
  serviceAccount?: string;
  /** The proxy's own labels for this workload (sourceLabels), as its pod's. */
  labels: Record<string, string>;
  /** Builds the app on `port` (0: a free one); `seed` for apps that draw random numbers. */
  make(port: number, seed: number | undefined): ServiceApp;
}

/** A seed scenario: where its YAML is and which apps it runs. */
export interface Scenario {
  /** `istio101`, `bookinfo`: the demo's argument. */
  name: string;
  /** The folder under the package root (`examples/003-istio101`). */
  example: string;
  /** The files read from it, in load order (every one unchanged but for WorkloadEntry ports). */
  files: string[];
  /** The Gateway the ingress proxy serves. */
  gateway: string;
  /**
   * Set when the example's YAML asks for protection the scenario cannot enforce without
   * strictMtls (seed 003's ISTIO_MUTUAL needs workload identities): why its proxies still run it,
   * with --allow-unenforced-security (each load then warns that it is NOT enforced). Ignored with
   * strictMtls, which enforces it. Absent: the flag is the caller's choice.
   */
  unenforcedSecurity?: string;
  /**
   * The example's mesh-wide STRICT PeerAuthentication (relative to `example`), present when the
   * scenario runs with `strictMtls`; it is copied into the run folder with the other files.
   */
  strictPeerAuthentication?: string;
  apps: ScenarioApp[];
  /**
   * What `wasmesh demo <name>` prints once running: where everything listens and what to curl.
   * `exampleDir` is the absolute example folder; `ownDir` tells whether the run folder goes on exit.
   */
  guide(run: RunningScenario, exampleDir: string, ownDir: boolean): string[];
}

export interface ScenarioMeshOptions {
  /** The package root (examples/ is under it). */
  root: string;
  /** The ingress gateway's listener and admin API. */
  listen: HostPort;
  admin: HostPort;
  /** The control plane's xDS and monitoring ports; absent: free ports on 127.0.0.1. */
  xds?: HostPort;
  monitoring?: HostPort;
  /** The control plane's push debounce (tests shorten it). */
  debounce?: { quietMs: number; maxDelayMs: number };
  /** true: every app on a free port (tests, parallel runs); false: the example's ports. */
  freeAppPorts: boolean;
  /** The run folder (kept); absent: a temporary folder removed by close(). */
  dir?: string;
  /** Extra files written into the run folder after the example's (later definitions win). */
  extraFiles?: Record<string, string>;
  /** Apps beyond the scenario's, for WorkloadEntries in extraFiles. */
  extraApps?: ScenarioApp[];
  /** `--allow-unenforced-security` for the control plane (forced on by Scenario.unenforcedSecurity). */
  allowUnenforcedSecurity?: boolean;
  /** Mesh-wide STRICT mTLS (`wasmesh demo <scenario> --mtls`): the scenario must have strictPeerAuthentication. */
  strictMtls?: boolean;
  /** With strictMtls: the CA's TLS port (Istio's 15012); absent: a free port on 127.0.0.1. */
  ca?: HostPort;
  /** Seeds the apps' random draws (each app gets seed + its index). */
  seed?: number;
  /** One access-log line per request, with the proxy that served it (`gateway`, a workload's sidecar). */
  accessLog?: (proxy: string, line: string) => void;
  log?: Log;
}

/** A proxy of the running mesh. */
export interface MeshProxy {
  /** `gateway`, or `sidecar of <workload>`. */
  role: string;
  runtime: { readonly manager: ProxyConfigSource; close(): Promise<void> };
  /** http://127.0.0.1:<port>: the gateway's listener, a sidecar's outbound listener. */
  url: string;
  adminUrl: string;
  /** host:port of the admin API (what `wasmesh proxy-config secret` takes). */
  admin: string;
  /** With strictMtls, a sidecar's inbound listener in front of its app (its WorkloadEntry's port). */
  inboundUrl?: string;
  /** With strictMtls, the SPIFFE ID of the proxy's workload certificate. */
  spiffeId?: string;
}

/** What strictMtls adds to the running scenario. */
export interface ScenarioMtls {
  readonly ca: DemoCa;
  /** The STRICT PeerAuthentication's file in the run folder. */
  readonly peerAuthentication: string;
}

export interface RunningScenario {
  readonly scenario: Scenario;
  readonly runDir: string;
  /** The control plane every proxy takes its config from. */
  readonly controlPlane: DemoControlPlane;
  readonly gateway: MeshProxy;
  /** By workload name: the sidecar of each app that calls other services (with strictMtls, of every app). */
  readonly sidecars: ReadonlyMap<string, MeshProxy>;
  /** Set with strictMtls. */
  readonly mtls: ScenarioMtls | null;
  /** By workload name. */
  readonly apps: ReadonlyMap<string, ServiceApp>;
  close(): Promise<void>;
}

function hasOutbound(app: ServiceApp): app is ServiceApp & { outbound: OutboundClient } {
  return 'outbound' in app;
}

function proxyOf(role: string, runtime: MeshProxy['runtime'], host: string, port: number, adminHost: string, adminPort: number): MeshProxy {
  return { role, runtime, url: `http://${host}:${port}`, adminUrl: `http://${adminHost}:${adminPort}`, admin: `${adminHost}:${adminPort}` };
}

/**
 * Starts the scenario: apps first (their ports go into the WorkloadEntries), then the control
 * plane over the run folder, then the sidecars and the gateway, and waits until the control plane
 * programmed every proxy. On any failure everything already started is closed and the error thrown.
 */
export async function startScenario(scenario: Scenario, opts: ScenarioMeshOptions): Promise<RunningScenario> {
  const example = join(opts.root, scenario.example);
  const strict = opts.strictMtls === true;
  if (strict && scenario.strictPeerAuthentication === undefined) throw new Error(`the ${scenario.name} demo has no mesh-wide STRICT mTLS mode (--mtls)`);
  const files = strict ? [...scenario.files, scenario.strictPeerAuthentication!] : scenario.files;
  for (const f of files) {
    if (!existsSync(join(example, f))) throw new Error(`${join(example, f)} is missing (the ${scenario.name} demo needs the example files)`);
  }
  const specs = [...scenario.apps, ...(opts.extraApps ?? [])];
  const apps = new Map<string, ServiceApp>();
  const sidecars = new Map<string, MeshProxy>();
  const identities: Array<{ close(): void }> = [];
  let gateway: MeshProxy | null = null;
  let controlPlane: DemoControlPlane | null = null;
  const ownDir = opts.dir === undefined;
  const runDir = opts.dir ?? mkdtempSync(join(tmpdir(), `wasmesh-${scenario.name}-`));
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // The gateway first (no new requests enter), then the sidecars, then the apps.
      await gateway?.runtime.close();
      await Promise.all([...sidecars.values()].map((s) => s.runtime.close()));
      for (const identity of identities) identity.close();
      await controlPlane?.close();
      await Promise.all([...apps.values()].map((a) => a.close()));
      if (ownDir) rmSync(runDir, { recursive: true, force: true });
    })());

  try {
    // With strictMtls the app moves behind its sidecar: the WorkloadEntry's port is the sidecar's
    // inbound listener, the app on a free loopback port (as an app in a pod, reached through it).
    const entryPorts = new Map<string, number>();
    for (const [i, spec] of specs.entries()) {
      const app = spec.make(opts.freeAppPorts || strict ? 0 : spec.port, opts.seed === undefined ? undefined : opts.seed + i);
      apps.set(spec.workload, app);
      await app.listen();
      entryPorts.set(spec.workload, !strict ? app.port : opts.freeAppPorts ? await freePort('127.0.0.1') : spec.port);
    }
    mkdirSync(runDir, { recursive: true });
    const ports: WorkloadPorts = {};
    for (const spec of specs) if (entryPorts.get(spec.workload)! !== spec.port) ports[spec.workload] = entryPorts.get(spec.workload)!;
    const accounts: WorkloadAccounts = {};
    if (strict) for (const spec of specs) accounts[spec.workload] = spec.serviceAccount ?? 'default';
    const seen = new Set<string>();
    const injected = new Set<string>();
    const write = (name: string, text: string) => {
      const r = withWorkloadPorts(text, ports);
      for (const w of r.rewritten) seen.add(w);
      const i = withInjectedSidecars(r.text, accounts, name);
      for (const w of i.injected) injected.add(w);
      writeFileSync(join(runDir, basename(name)), i.injected.length > 0 || r.rewritten.length > 0 ? i.text : text);
    };
    for (const f of files) {
      const text = readFileSync(join(example, f), 'utf8');
      // Files without WorkloadEntries to change are copied byte for byte: the seed's YAML as written.
      if ((Object.keys(ports).length === 0 && !strict) || !text.includes('WorkloadEntry')) copyFileSync(join(example, f), join(runDir, basename(f)));
      else write(f, text);
    }
    for (const [name, text] of Object.entries(opts.extraFiles ?? {})) write(name, text);
    const missing = [...new Set([...Object.keys(ports).filter((w) => !seen.has(w)), ...Object.keys(accounts).filter((w) => !injected.has(w))])];
    if (missing.length > 0) throw new Error(`no WorkloadEntry named ${missing.join(', ')} in the ${scenario.name} config`);

    const log: Log = opts.log ?? (() => {});
    const accessLog = opts.accessLog ?? (() => {});
    // Every proxy is given a view of the same config: what they all warn about is printed once per version.
    const warnings = new WarningDedupe((w) => log('warn', w));
    const reportWarnings = (list: readonly string[], loadKey: string) => warnings.report(list, loadKey);
    // Seed 003's ISTIO_MUTUAL is enforced with the CA; without it the scenario runs it unenforced, loudly.
    const allowUnenforcedSecurity = opts.allowUnenforcedSecurity === true || (!strict && scenario.unenforcedSecurity !== undefined);
    // The CA's files and the tokens in the run folder, made before the control plane watches it.
    const caDir = join(runDir, 'ca');
    if (strict) for (const d of [caDir, join(runDir, 'tokens')]) mkdirSync(d, { recursive: true });
    controlPlane = await startDemoControlPlane({
      runDir,
      xds: opts.xds ?? { host: '127.0.0.1', port: 0 },
      monitoring: opts.monitoring ?? { host: '127.0.0.1', port: 0 },
      allowUnenforcedSecurity,
      debounce: opts.debounce,
      ca: strict ? { dir: caDir, listen: opts.ca ?? { host: '127.0.0.1', port: 0 } } : undefined,
      log: (level, message) => log(level, `control plane: ${message}`),
    });
    const ca = controlPlane.ca;
    const identity = async (account: DemoAccount, role: string) => {
      const source = await startDemoIdentity(ca!, runDir, account, (level, message) => log(level, `${role}: ${message}`));
      identities.push(source);
      return source;
    };
    const xds = controlPlane.xds;
    for (const spec of specs) {
      const app = apps.get(spec.workload)!;
      const role = `sidecar of ${spec.workload}`;
      if (strict) {
        const account = { namespace: WORKLOAD_NAMESPACE, serviceAccount: accounts[spec.workload]! };
        const runtime = await startSidecarRuntime({
          sources: [],
          xds,
          xdsIdentity: sidecarIdentity(spec.workload, spec.labels),
          outbound: { host: '127.0.0.1', port: 0 },
          inbound: { host: '127.0.0.1', port: entryPorts.get(spec.workload)! },
          health: { host: '127.0.0.1', port: 0 },
          admin: { host: '127.0.0.1', port: 0 },
          appPorts: [app.port],
          dedicatedInbound: true,
          workloadCertificates: await identity(account, role),
          accessLog: (line) => accessLog(role, line),
          log: (level, message) => log(level, `${role}: ${message}`),
          reportWarnings,
        });
        const proxy = proxyOf(role, runtime, '127.0.0.1', runtime.ports.outbound, '127.0.0.1', runtime.ports.admin);
        sidecars.set(spec.workload, { ...proxy, inboundUrl: `http://127.0.0.1:${runtime.ports.inbound}`, spiffeId: demoSpiffeId(account) });
        if (hasOutbound(app)) app.outbound.sidecar = { host: '127.0.0.1', port: runtime.ports.outbound };
        continue;
      }
      if (!spec.sidecar) continue;
      if (!hasOutbound(app)) throw new Error(`${spec.workload}: an app with a sidecar needs an outbound client`);
      const runtime = await startProxyRuntime({
        sources: [],
        xds,
        xdsIdentity: sidecarIdentity(spec.workload, spec.labels),
        listen: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        listenRole: role,
        accessLog: (line) => accessLog(role, line),
        log: (level, message) => log(level, `${role}: ${message}`),
        reportWarnings,
      });
      sidecars.set(spec.workload, proxyOf(role, runtime, '127.0.0.1', runtime.listenPort, '127.0.0.1', runtime.adminPort));
      app.outbound.sidecar = { host: '127.0.0.1', port: runtime.listenPort };
    }
    const runtime = await startProxyRuntime({
      sources: [],
      xds,
      xdsIdentity: gatewayIdentity(scenario.gateway),
      listen: opts.listen,
      admin: opts.admin,
      listenRole: 'gateway',
      workloadCertificates: strict ? await identity(GATEWAY_ACCOUNT, 'gateway') : undefined,
      accessLog: (line) => accessLog('gateway', line),
      log: (level, message) => log(level, `gateway: ${message}`),
      reportWarnings,
    });
    gateway = proxyOf('gateway', runtime, opts.listen.host, runtime.listenPort, opts.admin.host, runtime.adminPort);
    if (strict) gateway.spiffeId = demoSpiffeId(GATEWAY_ACCOUNT);
    await untilProgrammed(controlPlane, [gateway, ...sidecars.values()]);
  } catch (err) {
    await close();
    throw err;
  }
  const mtls = strict ? { ca: controlPlane.ca!, peerAuthentication: join(runDir, basename(scenario.strictPeerAuthentication!)) } : null;
  return { scenario, runDir, controlPlane: controlPlane!, gateway, sidecars, apps, mtls, close };
}
