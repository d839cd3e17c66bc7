// `wasmesh demo protocols`: the protocols a mesh carries besides HTTP/1.1, through one ingress
// gateway programmed by the control plane over xDS, on loopback (examples/005-protocols): a gRPC
// service (a real @grpc/grpc-js greeter, two versions behind a grpc-named port, so the gateway
// takes h2c from the client and speaks HTTP/2 to the app) split 80/20 by a VirtualService that
// matches the gRPC service as a path prefix; a WebSocket app (a `ws` server) on /chat, reached
// with the HTTP/1.1 upgrade; and Redis — Debian's real redis-server when it is on PATH — behind
// the Gateway's TCP port 6379 and a `tcp:` route. Without redis-server the demo says so and runs
// the rest (03-redis.yaml is then left out of the run folder and port 6379 is not served).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPort } from '../common/host-port.js';
import type { Log } from '../common/log.js';
import { startProxyRuntime, type ProxyRuntime } from '../runtime/proxy-runtime.js';
import { withWorkloadPorts, type WorkloadPorts } from './demo-config.js';
import { gatewayIdentity, startDemoControlPlane, untilProgrammed, type DemoControlPlane } from './demo-control-plane.js';
import { GreeterApp } from './apps/greeter-app.js';
import { ChatApp } from './apps/chat-app.js';
import { RedisApp } from './apps/redis-app.js';

export const PROTOCOLS_EXAMPLE = join('examples', '005-protocols');

/** The example's files (the YAML in load order, then the greeter's proto and the client scripts). */
export const PROTOCOLS_FILES = {
  services: '00-protocols-services.yaml',
  gateway: '01-protocols-gateway.yaml',
  routes: '02-protocols-routes.yaml',
  redis: '03-redis.yaml',
  proto: 'greeter.proto',
  grpcClient: 'grpc-client.mjs',
  wsClient: 'ws-client.mjs',
  /** Replaces `routes` in the run folder: every gRPC call to v2. */
  routesV2: join('variants', '02-protocols-routes-v2.yaml'),
} as const;

/** The Gateway the demo's ingress proxy serves, and its two ports. */
export const PROTOCOLS_GATEWAY = 'protocols-gateway';
export const GATEWAY_HTTP_PORT = 80;
export const GATEWAY_REDIS_PORT = 6379;

/** The WorkloadEntries' ports as the example writes them. */
export const PROTOCOLS_APP_PORTS = { 'greeter-v1': 15401, 'greeter-v2': 15402, 'chat-v1': 15411, redis: 15421 } as const;

export interface ProtocolsDemoOptions {
  /** The package root (examples/ is under it). */
  root: string;
  /** The gateway's HTTP listener (Gateway port 80), its Redis listener (port 6379) and admin API. */
  listen: HostPort;
  redisListen: HostPort;
  admin: HostPort;
  /** The control plane's ports. */
  xds: HostPort;
  monitoring: HostPort;
  /** true: every app on a free port (the WorkloadEntries rewritten); false: the example's ports. */
  freeAppPorts: boolean;
  /** The run folder (kept); absent: a temporary folder removed by close(). */
  dir?: string;
  /** The redis-server binary, or null when it is not installed (the demo then runs without Redis). */
  redisServer: string | null;
  /** `--allow-unenforced-security` for the control plane. */
  allowUnenforcedSecurity?: boolean;
  /** The control plane's push debounce (tests shorten it). */
  debounce?: { quietMs: number; maxDelayMs: number };
  accessLog?: (line: string) => void;
  log?: Log;
}

export interface RunningProtocols {
  readonly runDir: string;
  readonly ownDir: boolean;
  readonly controlPlane: DemoControlPlane;
  readonly gateway: ProxyRuntime;
  /** host:port of the gateway's HTTP listener, its admin API, and its Redis listener (null without Redis). */
  readonly gatewayAddress: string;
  readonly adminAddress: string;
  readonly redisAddress: string | null;
  readonly greeters: readonly GreeterApp[];
  readonly chat: ChatApp;
  readonly redis: RedisApp | null;
  close(): Promise<void>;
}

/**
 * Starts the apps (their ports go into the WorkloadEntries), writes the run folder, starts the
 * control plane over it and the gateway it programs, and waits until the gateway has its config.
 * On any failure everything already started is closed and the error thrown.
 */
export async function startProtocolsDemo(opts: ProtocolsDemoOptions): Promise<RunningProtocols> {
  const example = join(opts.root, PROTOCOLS_EXAMPLE);
  for (const f of Object.values(PROTOCOLS_FILES)) {
    if (!existsSync(join(example, f))) throw new Error(`${join(example, f)} is missing (the protocols demo needs the example files)`);
  }
  const port = (workload: keyof typeof PROTOCOLS_APP_PORTS): number => (opts.freeAppPorts ? 0 : PROTOCOLS_APP_PORTS[workload]);
  const proto = join(example, PROTOCOLS_FILES.proto);
  // Each app names itself `<workload> app` in errors (a busy port names --app-ports).
  const greeters = [
    new GreeterApp({ protoFile: proto, version: 'v1', port: port('greeter-v1'), name: 'greeter-v1 app' }),
    new GreeterApp({ protoFile: proto, version: 'v2', port: port('greeter-v2'), name: 'greeter-v2 app' }),
  ];
  const chat = new ChatApp({ version: 'v1', port: port('chat-v1'), name: 'chat-v1 app' });
  const redis = opts.redisServer === null ? null : new RedisApp({ bin: opts.redisServer, port: port('redis'), name: 'redis app' });
  const apps: Array<{ workload: keyof typeof PROTOCOLS_APP_PORTS; app: { port: number; listen(): Promise<void>; close(): Promise<void> } }> = [
    { workload: 'greeter-v1', app: greeters[0]! },
    { workload: 'greeter-v2', app: greeters[1]! },
    { workload: 'chat-v1', app: chat },
    ...(redis ? [{ workload: 'redis' as const, app: redis }] : []),
  ];
  const ownDir = opts.dir === undefined;
  const runDir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wasmesh-protocols-'));
  let controlPlane: DemoControlPlane | null = null;
  let gateway: ProxyRuntime | null = null;
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await gateway?.close();
      await controlPlane?.close();
      await Promise.all(apps.map((a) => a.app.close()));
      if (ownDir) rmSync(runDir, { recursive: true, force: true });
    })());

  try {
    for (const { app } of apps) await app.listen();
    mkdirSync(runDir, { recursive: true });
    const ports: WorkloadPorts = {};
    for (const { workload, app } of apps) if (app.port !== PROTOCOLS_APP_PORTS[workload]) ports[workload] = app.port;
    const files = [PROTOCOLS_FILES.services, PROTOCOLS_FILES.gateway, PROTOCOLS_FILES.routes, ...(redis ? [PROTOCOLS_FILES.redis] : [])];
    const seen = new Set<string>();
    for (const f of files) {
      const text = readFileSync(join(example, f), 'utf8');
      // Files without WorkloadEntries to change are copied byte for byte: the example as written.
      if (Object.keys(ports).length === 0 || !text.includes('WorkloadEntry')) {
        copyFileSync(join(example, f), join(runDir, f));
        continue;
      }
      const r = withWorkloadPorts(text, ports);
      for (const w of r.rewritten) seen.add(w);
      writeFileSync(join(runDir, f), r.text);
    }
    const missing = Object.keys(ports).filter((w) => !seen.has(w));
    if (missing.length > 0) throw new Error(`no WorkloadEntry named ${missing.join(', ')} in ${example}`);

    const log: Log = opts.log ?? (() => {});
    controlPlane = await startDemoControlPlane({
      runDir,
      xds: opts.xds,
      monitoring: opts.monitoring,
      allowUnenforcedSecurity: opts.allowUnenforcedSecurity === true,
      debounce: opts.debounce,
      log: (level, message) => log(level, `control plane: ${message}`),
    });
    gateway = await startProxyRuntime({
      sources: [],
      xds: controlPlane.xds,
      xdsIdentity: gatewayIdentity(PROTOCOLS_GATEWAY),
      listen: opts.listen,
      admin: opts.admin,
      listenRole: 'gateway',
      // Gateway port 80 on `listen`; 6379 (a byte proxy: the Gateway's REDIS server) only with Redis.
      gatewayPorts: [{ port: GATEWAY_HTTP_PORT, at: opts.listen }, ...(redis ? [{ port: GATEWAY_REDIS_PORT, at: opts.redisListen }] : [])],
      accessLog: opts.accessLog ?? (() => {}),
      log: (level, message) => log(level, `gateway: ${message}`),
    });
    await untilProgrammed(controlPlane, [{ role: 'gateway', runtime: gateway }]);
  } catch (err) {
    await close();
    throw err;
  }
  const redisPort = redis ? gateway.gatewayPorts.find((p) => p.port === GATEWAY_REDIS_PORT) : undefined;
  return {
    runDir,
    ownDir,
    controlPlane: controlPlane!,
    gateway,
    gatewayAddress: `${opts.listen.host}:${gateway.listenPort}`,
    adminAddress: `${opts.admin.host}:${gateway.adminPort}`,
    redisAddress: redisPort === undefined ? null : `${opts.redisListen.host}:${(redisPort.tcp ?? redisPort.server).port}`,
    greeters,
    chat,
    redis,
    close,
  };
}
