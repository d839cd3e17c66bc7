// `wasmesh demo [istio101|bookinfo]` (and `npm start`): a seed's mesh on loopback with no setup.
// Without a scenario, seed 000: the demo app as two versions, the example config copied into a
// run folder, the control plane watching it (xDS on 127.0.0.1:15010, monitoring on 15014), an
// ingress gateway on 127.0.0.1:8080 programmed by it over xDS, and the gateway's admin API.
// `istio101` (seed 003) and `bookinfo` (seed 002) run their apps, the control plane, a sidecar
// per calling app and the gateway (host/demo/scenario-mesh.ts). Each prints what to curl and
// `wasmesh proxy-status`; Ctrl-C stops everything.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { packageRoot } from '../core/wasm.js';
import { WebApp } from '../demo/web-app.js';
import { SEED000_EXAMPLE, SEED000_RUN, seed000RunFiles } from '../demo/demo-config.js';
import { startScenario, type RunningScenario, type Scenario } from '../demo/scenario-mesh.js';
import { ISTIO101 } from '../demo/istio101-scenario.js';
import { BOOKINFO } from '../demo/bookinfo-scenario.js';
import { dashboardGuide } from '../demo/dashboard-guide.js';
import { DEFAULT_REDIS_LISTEN_PORT } from '../demo/protocols-ports.js';
import type { RunningProtocols } from '../demo/protocols-demo.js';
import { formatHelp, parseArgs, hostPortFlag, portFlag, UsageError, type CommandSpec, type FlagValues } from './args.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { ListenError } from '../common/listen-error.js';
import { startProxyRuntime, type ProxyRuntime } from '../runtime/proxy-runtime.js';
import { ALLOW_UNENFORCED_SECURITY } from './unenforced-security-flag.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';
import type { HostPort } from '../common/host-port.js';
import {
  controlPlaneFlag, controlPlaneLines, DEMO_CA, DEMO_MONITORING, DEMO_XDS, gatewayIdentity, startDemoControlPlane, untilProgrammed, type DemoControlPlane,
} from '../demo/demo-control-plane.js';

export const DEMO_SPEC: CommandSpec = {
  command: 'wasmesh demo [istio101|bookinfo|protocols]',
  summary:
    'Runs a seed\'s mesh on loopback. Without a scenario, seed 000: the demo app as v1 and v2, an ingress gateway ' +
    'serving the example Gateway + VirtualService with an 80/20 split, and the admin API. `istio101` (seed 003): ' +
    'frontend → middleware (prod, canary) → backend with the `fail` header, retries and the x-dev-user canary. ' +
    '`bookinfo` (seed 002): productpage, reviews v1/v2/v3, ratings and details under the seed\'s rules. Each app ' +
    'that calls another has its own sidecar (the proxy in mesh mode). The config is copied into a run folder ' +
    'that the control plane (`wasmesh control-plane`, in the demo\'s process) watches; every proxy takes its ' +
    'config from it over xDS, so copying a file there applies it live, and `wasmesh proxy-status` lists the ' +
    'proxies and their sync state. `protocols`: a gRPC service (unary and server streaming, split 80/20), a ' +
    'WebSocket app and Redis (Debian\'s redis-server, when installed) through one gateway. Ctrl-C stops everything.',
  flags: [
    { name: 'port', kind: 'string', valueName: '<port>', help: 'gateway port on 127.0.0.1', defaultText: '8080' },
    { name: 'admin', kind: 'string', valueName: '<host:port>', help: 'the gateway\'s admin API address', defaultText: '127.0.0.1:15000' },
    { name: 'xds-listen', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s xDS address (the proxies connect to it)', defaultText: `${DEMO_XDS.host}:${DEMO_XDS.port}` },
    { name: 'monitoring', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s monitoring address (/metrics, /debug/syncz: `wasmesh proxy-status --control-plane`)', defaultText: `${DEMO_MONITORING.host}:${DEMO_MONITORING.port}` },
    {
      name: 'app-ports',
      kind: 'string',
      valueName: '<v1,v2> | 0',
      help: 'seed 000: ports of the two demo app versions; istio101/bookinfo: 0 puts every app on a free port (the WorkloadEntries are rewritten to match)',
      defaultText: '15101,15102; the examples\' 153xx/152xx',
    },
    { name: 'redis-port', kind: 'string', valueName: '<port>', help: 'protocols: the gateway\'s Redis port (Gateway port 6379) on 127.0.0.1', defaultText: String(DEFAULT_REDIS_LISTEN_PORT) },
    { name: 'dir', kind: 'string', valueName: '<folder>', help: 'run folder for the config (kept on exit)', defaultText: 'a temporary folder, removed on exit' },
    { name: 'no-access-log', kind: 'boolean', help: 'do not print a line per request' },
    {
      name: 'mtls',
      kind: 'boolean',
      help: 'istio101, bookinfo: mesh-wide STRICT mTLS — the control plane runs its CA in the run folder, every app gets a sidecar with its own workload identity in front of it (its WorkloadEntry\'s port), and the seed\'s STRICT PeerAuthentication (istio101: also its ISTIO_MUTUAL) is enforced',
    },
    { name: 'secure-listen', kind: 'string', valueName: '<host:port>', help: 'with --mtls: the CA\'s TLS port (Istio\'s CSR API)', defaultText: `${DEMO_CA.host}:${DEMO_CA.port}` },
    { ...ALLOW_UNENFORCED_SECURITY, help: `${ALLOW_UNENFORCED_SECURITY.help} Given to the control plane, which computes every proxy's config (istio101 without --mtls always runs so: seed 003 asks for ISTIO_MUTUAL)` },
    { ...CREDENTIALS_DIR_FLAG, help: `${CREDENTIALS_DIR_FLAG.help}; given to the control plane (seed 000's demo)` },
  ],
  epilog: [
    'Scenarios:',
    '  (none)     seed 000, examples/000-web-demo',
    '  istio101   seed 003, examples/003-istio101 (Istio101: fail header, retries, x-dev-user canary); --mtls: mesh-wide STRICT mTLS',
    '  bookinfo   seed 002, examples/002-bookinfo-rules (reviews by user and browser, mirror, timeouts, retries, circuit breaking); --mtls: its enable-strict-mode.yml',
    '  protocols  examples/005-protocols: gRPC (h2c in, HTTP/2 to the app), WebSocket (HTTP/1.1 upgrade) and Redis (a `tcp:` route) through one gateway',
    'Examples:',
    '  wasmesh demo istio101',
    '  curl -s -H \'x-dev-user: super-secret\' http://127.0.0.1:8080/',
    '  wasmesh demo istio101 --mtls',
    '  npx wasmesh proxy-status',
  ],
};

/** The scenarios `wasmesh demo <name>` runs. */
const SCENARIOS: Record<string, Scenario> = { istio101: ISTIO101, bookinfo: BOOKINFO };

const EXAMPLE = join('examples', '000-web-demo');
const DEFAULT_APP_PORTS = [15101, 15102] as const;

export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  // The scenario is the one word that is not a flag, and only first (flags take their values after them).
  const named = argv.length > 0 && !argv[0].startsWith('-') ? argv[0] : null;
  const { help, values } = parseArgs(DEMO_SPEC, named === null ? argv : argv.slice(1));
  if (help) {
    io.out(formatHelp(DEMO_SPEC));
    return 0;
  }
  if (named === null && (values.mtls === true || values['secure-listen'] !== undefined)) {
    throw new UsageError(DEMO_SPEC.command, `--${values.mtls === true ? 'mtls' : 'secure-listen'} goes with a scenario that has mesh-wide STRICT mTLS: wasmesh demo istio101 --mtls`);
  }
  if (named !== 'protocols' && values['redis-port'] !== undefined) throw new UsageError(DEMO_SPEC.command, '--redis-port goes with the protocols demo: wasmesh demo protocols --redis-port <port>');
  if (named === 'protocols') return protocolsDemo(values, io);
  if (named !== null) {
    const scenario = SCENARIOS[named];
    if (!scenario) throw new UsageError(DEMO_SPEC.command, `unknown scenario "${named}" (known: ${[...Object.keys(SCENARIOS), 'protocols'].join(', ')})`);
    return scenarioDemo(scenario, values, io);
  }
  const port = portFlag(DEMO_SPEC.command, '--port', (values.port as string | undefined) ?? '8080');
  const admin = hostPortFlag(DEMO_SPEC.command, '--admin', (values.admin as string | undefined) ?? '127.0.0.1:15000');
  const { xds, monitoring } = controlPlaneFlags(DEMO_SPEC.command, values);
  const appPorts = parseAppPorts((values['app-ports'] as string | undefined) ?? DEFAULT_APP_PORTS.join(','));
  const accessLog = values['no-access-log'] !== true;

  const example = join(packageRoot(), EXAMPLE);
  for (const f of Object.values(SEED000_EXAMPLE)) {
    if (!existsSync(join(example, f))) {
      io.err(`wasmesh demo: ${join(example, f)} is missing (the demo needs the seed 000 example files)\n`);
      return 1;
    }
  }

  const apps = [
    new WebApp({ name: 'web-v1', version: 'v0.1', port: appPorts[0] }),
    new WebApp({ name: 'web-v2', version: 'v0.2', port: appPorts[1] }),
  ];
  const ownDir = values.dir === undefined;
  const runDir = ownDir ? mkdtempSync(join(tmpdir(), 'wasmesh-demo-')) : resolve(values.dir as string);
  const log = (level: 'info' | 'warn' | 'error', message: string) => io.err(logLine(level, message));
  let cp: DemoControlPlane | null = null;
  let runtime: ProxyRuntime | null = null;
  const cleanup = async () => {
    await runtime?.close();
    await cp?.close();
    await Promise.all(apps.map((a) => a.close()));
    if (ownDir) rmSync(runDir, { recursive: true, force: true });
  };

  try {
    for (const app of apps) await app.listen();
    mkdirSync(runDir, { recursive: true });
    for (const [name, text] of seed000RunFiles(example, { v1: apps[0].port, v2: apps[1].port })) writeFileSync(join(runDir, name), text);
    cp = await startDemoControlPlane({
      runDir,
      xds,
      monitoring,
      allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
      credentialsDir: credentialsDirFromFlags(DEMO_SPEC.command, values),
      log: (level, message) => log(level, `control plane: ${message}`),
    });
    runtime = await startProxyRuntime({
      sources: [],
      xds: cp.xds,
      xdsIdentity: gatewayIdentity('web-gateway'),
      listen: { host: '127.0.0.1', port },
      listenRole: 'gateway',
      admin,
      accessLog: accessLog ? (line) => io.out(line + '\n') : () => {},
      log: (level, message) => log(level, `gateway: ${message}`),
    });
    await untilProgrammed(cp, [{ role: 'gateway', runtime }]);
  } catch (err) {
    io.err(`wasmesh demo: ${errorText(err, '--app-ports <v1,v2> (0,0: two free ports)')}\n`);
    await cleanup();
    return 1;
  }

  const gw = `http://127.0.0.1:${runtime.listenPort}/`;
  const adm = `http://${admin.host}:${runtime.adminPort}`;
  const cpLines = controlPlaneLines(cp, 'demo app web-v1'.length + 3);
  io.out(
    [
      '',
      'wasmesh demo: the seed 000 mesh is running on loopback.',
      '',
      `  demo app web-v1   http://127.0.0.1:${apps[0].port}/   answers "Version: v0.1"`,
      `  demo app web-v2   http://127.0.0.1:${apps[1].port}/   answers "Version: v0.2"`,
      `  gateway           ${gw}   Gateway web-gateway, VirtualService web: 80% v1 / 20% v2`,
      `  admin             ${adm}/   (/ready /config_dump /stats /clusters)`,
      `  metrics           ${adm}/stats/prometheus   (Envoy's stats and Istio's istio_requests_total, … for Prometheus)`,
      ...cpLines.where,
      `  config folder     ${runDir}   (watched by the control plane: changes are pushed live${ownDir ? '; removed on exit' : ''})`,
      '',
      'Send 100 requests and count the versions:',
      `  for i in $(seq 1 100); do curl -s ${gw}; echo; done | sort | uniq -c`,
      '',
      'Switch the split to 5% v1 / 95% v2, live:',
      `  cp ${join(example, SEED000_EXAMPLE.split5)} ${join(runDir, SEED000_RUN.split)}`,
      'and back to 80/20:',
      `  cp ${join(example, SEED000_EXAMPLE.split80)} ${join(runDir, SEED000_RUN.split)}`,
      '',
      ...cpLines.tryIt,
      '',
      ...dashboardGuide([`${admin.host}:${runtime.adminPort}`], cp.monitoringUrl),
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );

  // SIGHUP: the control plane reads the run folder again and pushes what changed.
  const signal = await untilStopped(io, () => cp?.controlPlane.requestReload());
  io.err(logLine('info', `${signal}: stopping the demo`));
  await cleanup();
  io.err(logLine('info', 'demo stopped'));
  return 0;
}

/**
 * The message of a failed start; a port that cannot be bound also names the flag that moves it,
 * since a busy port is the likeliest first-run failure (another demo, a dev server on 8080).
 */
function errorText(err: unknown, appPortsFlag: string): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof ListenError) || err.code === 'listen_failed') return message;
  const cpFlag = controlPlaneFlag(err);
  if (cpFlag !== null) return `${message}; choose another with ${cpFlag}`;
  // The roles of the demo's fixed ports: startProxyRuntime's `admin` and `gateway`, and the apps
  // (`demo app web-v1`, `reviews v2 app`). Sidecars take free ports, so they have no flag.
  const flag =
    err.role === 'admin' ? '--admin <host:port>'
    : err.role === 'gateway' ? '--port <port>'
    : err.role === 'gateway (Gateway port 6379)' ? '--redis-port <port>'
    : /\bapp\b/.test(err.role) ? appPortsFlag
    : null;
  return flag === null ? message : `${message}; choose another with ${flag}`;
}

/** `--xds-listen` and `--monitoring`: the control plane's two ports. */
function controlPlaneFlags(command: string, values: FlagValues): { xds: HostPort; monitoring: HostPort } {
  return {
    xds: hostPortFlag(command, '--xds-listen', (values['xds-listen'] as string | undefined) ?? `${DEMO_XDS.host}:${DEMO_XDS.port}`),
    monitoring: hostPortFlag(command, '--monitoring', (values.monitoring as string | undefined) ?? `${DEMO_MONITORING.host}:${DEMO_MONITORING.port}`),
  };
}

function parseAppPorts(text: string): [number, number] {
  const parts = text.split(',');
  if (parts.length !== 2) throw new UsageError(DEMO_SPEC.command, `--app-ports "${text}" must be two ports, v1,v2 (for example 15101,15102)`);
  const v1 = portFlag(DEMO_SPEC.command, '--app-ports', parts[0].trim());
  const v2 = portFlag(DEMO_SPEC.command, '--app-ports', parts[1].trim());
  if (v1 === v2 && v1 !== 0) throw new UsageError(DEMO_SPEC.command, `--app-ports: v1 and v2 need different ports, got ${v1} twice`);
  return [v1, v2];
}

/** `wasmesh demo istio101|bookinfo`: the scenario's apps, sidecars and gateway, then its guide. */
async function scenarioDemo(scenario: Scenario, values: FlagValues, io: CliIo): Promise<number> {
  const command = `wasmesh demo ${scenario.name}`;
  const port = portFlag(command, '--port', (values.port as string | undefined) ?? '8080');
  const admin = hostPortFlag(command, '--admin', (values.admin as string | undefined) ?? '127.0.0.1:15000');
  const { xds, monitoring } = controlPlaneFlags(command, values);
  const appPorts = values['app-ports'] as string | undefined;
  if (appPorts !== undefined && appPorts.trim() !== '0') {
    throw new UsageError(DEMO_SPEC.command, `--app-ports "${appPorts}": with ${scenario.name} only 0 (every app on a free port) is accepted`);
  }
  const accessLog = values['no-access-log'] !== true;
  const strictMtls = values.mtls === true;
  if (strictMtls && scenario.strictPeerAuthentication === undefined) {
    throw new UsageError(command, `--mtls: the ${scenario.name} demo has no mesh-wide STRICT mode`);
  }
  if (!strictMtls && values['secure-listen'] !== undefined) throw new UsageError(command, '--secure-listen goes with --mtls (the CA runs only then)');
  const ca = hostPortFlag(command, '--secure-listen', (values['secure-listen'] as string | undefined) ?? `${DEMO_CA.host}:${DEMO_CA.port}`);
  let running: RunningScenario;
  try {
    running = await startScenario(scenario, {
      root: packageRoot(),
      listen: { host: '127.0.0.1', port },
      admin,
      xds,
      monitoring,
      freeAppPorts: appPorts !== undefined,
      strictMtls,
      ca: strictMtls ? ca : undefined,
      allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
      dir: values.dir === undefined ? undefined : resolve(values.dir as string),
      accessLog: accessLog ? (proxy, line) => io.out(`${proxy}: ${line}\n`) : undefined,
      log: (level, message) => io.err(logLine(level, message)),
    });
  } catch (err) {
    io.err(`${command}: ${errorText(err, '--app-ports 0 (every app on a free port)')}\n`);
    return 1;
  }
  const guide = scenario.guide(running, join(packageRoot(), scenario.example), values.dir === undefined);
  // The dashboard's lines go before the guide's closing `Press Ctrl-C to stop.`.
  const end = guide.lastIndexOf('Press Ctrl-C to stop.');
  const proxies = [running.gateway, ...running.sidecars.values()].map((p) => p.admin);
  guide.splice(end < 0 ? guide.length : end, 0, ...dashboardGuide(proxies, running.controlPlane.monitoringUrl), '');
  io.out(guide.join('\n') + '\n');

  // SIGHUP: the control plane reads the run folder again and pushes what changed.
  const signal = await untilStopped(io, () => running.controlPlane.controlPlane.requestReload());
  io.err(logLine('info', `${signal}: stopping the demo`));
  await running.close();
  io.err(logLine('info', 'demo stopped'));
  return 0;
}

/** `wasmesh demo protocols`: gRPC, WebSocket and Redis through one gateway (host/demo/protocols-demo.ts). */
async function protocolsDemo(values: FlagValues, io: CliIo): Promise<number> {
  const command = 'wasmesh demo protocols';
  for (const flag of ['mtls', 'secure-listen', 'credentials-dir'] as const) {
    if (values[flag] !== undefined) throw new UsageError(command, `--${flag}: the protocols demo has no ${flag === 'credentials-dir' ? 'credentials to read' : 'mesh-wide STRICT mode'}`);
  }
  const port = portFlag(command, '--port', (values.port as string | undefined) ?? '8080');
  const redisPort = portFlag(command, '--redis-port', (values['redis-port'] as string | undefined) ?? String(DEFAULT_REDIS_LISTEN_PORT));
  const admin = hostPortFlag(command, '--admin', (values.admin as string | undefined) ?? '127.0.0.1:15000');
  const { xds, monitoring } = controlPlaneFlags(command, values);
  const appPorts = values['app-ports'] as string | undefined;
  if (appPorts !== undefined && appPorts.trim() !== '0') {
    throw new UsageError(command, `--app-ports "${appPorts}": with protocols only 0 (every app on a free port) is accepted`);
  }
  const accessLog = values['no-access-log'] !== true;
  // Loaded here: @grpc/grpc-js and ws are for this demo only.
  const { PROTOCOLS_EXAMPLE, startProtocolsDemo } = await import('../demo/protocols-demo.js');
  const { protocolsGuide } = await import('../demo/protocols-guide.js');
  const { findOnPath } = await import('../demo/apps/redis-app.js');
  const redisServer = findOnPath('redis-server');
  const redisCli = findOnPath('redis-cli');
  let running: RunningProtocols;
  try {
    running = await startProtocolsDemo({
      root: packageRoot(),
      listen: { host: '127.0.0.1', port },
      redisListen: { host: '127.0.0.1', port: redisPort },
      admin,
      xds,
      monitoring,
      freeAppPorts: appPorts !== undefined,
      dir: values.dir === undefined ? undefined : resolve(values.dir as string),
      redisServer,
      allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
      accessLog: accessLog ? (line) => io.out(`gateway: ${line}\n`) : undefined,
      log: (level, message) => io.err(logLine(level, message)),
    });
  } catch (err) {
    io.err(`${command}: ${errorText(err, '--app-ports 0 (every app on a free port)')}\n`);
    return 1;
  }
  if (redisServer === null) io.err(logLine('warn', 'redis-server is not installed (Debian: apt-get install redis-server redis-tools, or scripts/install-tcpservers.sh): the demo runs without Redis'));
  // The clients' paths as the user types them: relative from inside the checkout (`npm start`), else absolute.
  const exampleDir = join(packageRoot(), PROTOCOLS_EXAMPLE);
  const fromHere = relative(process.cwd(), exampleDir);
  const guide = protocolsGuide(running, fromHere.startsWith('..') || isAbsolute(fromHere) ? exampleDir : fromHere, redisCli !== null);
  const end = guide.lastIndexOf('Press Ctrl-C to stop.');
  guide.splice(end < 0 ? guide.length : end, 0, ...dashboardGuide([running.adminAddress], running.controlPlane.monitoringUrl), '');
  io.out(guide.join('\n') + '\n');

  // SIGHUP: the control plane reads the run folder again and pushes what changed.
  const signal = await untilStopped(io, () => running.controlPlane.controlPlane.requestReload());
  io.err(logLine('info', `${signal}: stopping the demo`));
  await running.close();
  io.err(logLine('info', 'demo stopped'));
  return 0;
}
