// `wasmesh proxy`: serves Istio YAML as an ingress gateway (--gateway) or as the mesh's
// outbound proxy, with the admin API, hot reload on file changes, and graceful shutdown.
import { TCP_TRANSPORT_FLAG, tcpTransportFromFlags, describeTcpTransport } from './tcp-transport-flag.js';
import { STATS_FLAG, statsFromFlags } from './stats-flag.js';
import { WORKLOAD_FLAGS, workloadFromFlags, istioMetricsFromFlags } from './workload-flags.js';
import { formatHelp, parseArgs, hostPortFlag, UsageError, type CommandSpec } from './args.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { startProxyRuntime, type ProxyRuntime } from '../runtime/proxy-runtime.js';
import { parseGatewayPorts, type GatewayPort } from '../runtime/gateway-ports.js';
import { ALLOW_UNENFORCED_SECURITY } from './unenforced-security-flag.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';
import { XDS_FLAGS, xdsFromFlags } from './xds-flags.js';
import { LIMIT_FLAG, limitsFromFlags } from './limit-flag.js';
import { IDENTITY_FLAGS, identityFromFlags, xdsTlsFromFlags, startWorkloadCertificates, describeIdentity, type OwnedCertificateSource } from './identity-flags.js';
import { closeSync, openSync, writeSync } from 'node:fs';
import { formatHostPort } from '../common/host-port.js';

export const PROXY_SPEC: CommandSpec = {
  command: 'wasmesh proxy',
  summary:
    'Runs the proxy. With --gateway it is an ingress gateway serving the VirtualServices bound to that ' +
    'Gateway; without it, the mesh outbound proxy (VirtualServices for `mesh`, chosen by Host). The files ' +
    'are watched: a valid change is applied live, an invalid one is logged and the last good config keeps serving.',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'Istio YAML file or folder of them' },
    { name: 'listen', kind: 'string', valueName: '<host:port>', help: 'where to accept downstream requests' },
    { name: 'gateway', kind: 'string', valueName: '<name|ns/name>', help: 'serve as this Gateway (ingress mode)' },
    { name: 'port-map', kind: 'string', valueName: '<gw port=host:port,…>', help: 'with --gateway: one listener per Gateway port, e.g. 443=127.0.0.1:8443,80=127.0.0.1:8080 (instead of --listen, which serves the Gateway\'s lowest port); ports after the first are served on the main thread only' },
    { name: 'admin', kind: 'string', valueName: '<host:port>', help: 'admin API address', defaultText: '127.0.0.1:15000' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'namespace of resources that name none, and of this proxy (sourceNamespace, short names)', defaultText: 'default' },
    { name: 'labels', kind: 'string', valueName: '<k=v,…>', help: 'this proxy\'s workload labels (VirtualService sourceLabels)' },
    { name: 'workers', kind: 'string', valueName: '<n>', help: 'data-path threads, each with its own core and listener on the same port (Envoy --concurrency)', defaultText: '1' },
    { name: 'access-log', kind: 'string', valueName: '<path|-|off>', help: 'where access-log lines go: a file (appended), - for stdout, off for none', defaultText: '-' },
    LIMIT_FLAG,
    ...XDS_FLAGS,
    ...IDENTITY_FLAGS,
    ...WORKLOAD_FLAGS,
    STATS_FLAG,
    TCP_TRANSPORT_FLAG,
    ALLOW_UNENFORCED_SECURITY,
    CREDENTIALS_DIR_FLAG,
  ],
  epilog: [
    'With --xds the config comes from `wasmesh control-plane` over xDS instead of files: the proxy',
    'serves the last version it received while the control plane is away, and is ready once the first arrives.',
    '',
    'Access log lines (Envoy default format) go to stdout unless --access-log says otherwise, written',
    'in batches (every 100 ms or 32 KiB, as Envoy buffers its access log); operational logs to stderr.',
    'SIGINT/SIGTERM stop gracefully; SIGHUP reloads the config.',
    '',
    'A folder is read whole, in name order, and a later resource of the same kind and name replaces an',
    'earlier one (as successive `kubectl apply`s do), so name the files when a folder holds alternatives.',
    '',
    'Example: seed 000\'s ingress gateway with the 80% v1 / 20% v2 split (03\'s VirtualService replaces',
    '02\'s, with a warning saying so; `wasmesh demo` serves the same split with both app versions running):',
    '  wasmesh proxy --listen 127.0.0.1:8080 --gateway web-gateway \\',
    '    -f examples/000-web-demo/00-web-services.yaml \\',
    '    -f examples/000-web-demo/02-web-demo-service-gateway.yaml \\',
    '    -f examples/000-web-demo/03-web-demo-80-20.yaml',
  ],
};

export const DEFAULT_ADMIN = '127.0.0.1:15000';

export async function proxyCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(PROXY_SPEC, argv);
  if (help) {
    io.out(formatHelp(PROXY_SPEC));
    return 0;
  }
  const files = (values.file as string[] | undefined) ?? [];
  const labels0 = values.labels === undefined ? undefined : parseLabels(values.labels as string);
  const xds = xdsFromFlags(PROXY_SPEC.command, values, files, labels0);
  if (files.length === 0 && xds === null) throw new UsageError(PROXY_SPEC.command, 'at least one -f <file|dir> is required (or --xds <host:port>)');
  const gatewayPorts = portMapFlag(values['port-map'] as string | undefined);
  if (gatewayPorts !== undefined && values.listen !== undefined) throw new UsageError(PROXY_SPEC.command, '--port-map and --listen: give one (the port map names every listener)');
  if (gatewayPorts !== undefined && values.gateway === undefined && xds === null) throw new UsageError(PROXY_SPEC.command, '--port-map needs --gateway');
  if (values.listen === undefined && gatewayPorts === undefined) throw new UsageError(PROXY_SPEC.command, '--listen <host:port> is required');
  const listen = gatewayPorts !== undefined ? gatewayPorts[0]!.at : hostPortFlag(PROXY_SPEC.command, '--listen', values.listen as string);
  const admin = hostPortFlag(PROXY_SPEC.command, '--admin', (values.admin as string | undefined) ?? DEFAULT_ADMIN);
  const gateway = values.gateway as string | undefined;
  const labels = labels0;
  const workers = parseWorkers((values.workers as string | undefined) ?? '1');
  const limits = limitsFromFlags(PROXY_SPEC.command, values.limit as string[] | undefined);
  const identity = identityFromFlags(PROXY_SPEC.command, values);
  const xdsTls = xdsTlsFromFlags(PROXY_SPEC.command, values, identity, xds !== null);
  const workload = workloadFromFlags(PROXY_SPEC.command, values, identity, labels);
  const istioMetrics = istioMetricsFromFlags(PROXY_SPEC.command, values);
  const stats = statsFromFlags(PROXY_SPEC.command, values);
  const tcpTransport = tcpTransportFromFlags(PROXY_SPEC.command, values);
  if (xds) xds.identity.workloadName = workload.name;
  const credentialsDir = credentialsDirFromFlags(PROXY_SPEC.command, values);
  const accessLog = openAccessLog((values['access-log'] as string | undefined) ?? '-', io);
  const log = (level: 'info' | 'warn' | 'error', message: string) => io.err(logLine(level, message));

  let runtime: ProxyRuntime;
  let certificates: OwnedCertificateSource | null = null;
  try {
    certificates = identity ? await startWorkloadCertificates(identity, log) : null;
    runtime = await startProxyRuntime({
      sources: files,
      gateway,
      namespace: values.namespace as string | undefined,
      labels,
      workload,
      istioMetrics,
      stats,
      allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
      credentialsDir,
      ...(gatewayPorts !== undefined ? { gatewayPorts } : {}),
      ...(xds ? { xds: xds.xds, xdsIdentity: xds.identity } : {}),
      // Once issued, the workload certificate is presented on the xDS channel too (mTLS).
      ...(xdsTls ? { xdsTls: { ...xdsTls, ...(certificates ? { certificate: certificates } : {}) } } : {}),
      listen,
      admin,
      accessLogBatch: accessLog?.write,
      workers,
      limits,
      tcpTransport: tcpTransport.kind,
      ...(certificates ? { workloadCertificates: certificates } : {}),
      log,
    });
  } catch (err) {
    certificates?.close();
    io.err(`wasmesh proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    accessLog?.close();
    return 1;
  }
  const m = runtime.manager;
  const mode = (gateway ? `gateway ${gateway}` : 'mesh outbound proxy') + (workers > 1 ? ` with ${workers} workers` : '');
  io.err(
    logLine(
      'info',
      `wasmesh proxy: serving ${mode} on http://${formatHostPort(listen.host, runtime.listenPort)}${runtime.gatewayPorts.map((g) => `, Gateway port ${g.port}${g.tcp !== null ? ' (TCP)' : ''} on ${formatHostPort(listen.host, g.tcp?.port ?? g.server.port)}`).join('')} ` +
        `(${m.describe()}); ` +
        (identity ? `${describeIdentity(identity)}; ` : '') +
        `${describeTcpTransport(tcpTransport)}; ` +
        `admin on http://${formatHostPort(admin.host, runtime.adminPort)}`,
    ),
  );
  // A signal, or the admin API's POST /quitquitquit (the runtime is already draining then).
  const signal = await Promise.race([untilStopped(io, () => runtime.reload('SIGHUP')), runtime.quitRequested.then(() => 'POST /quitquitquit')]);
  io.err(logLine('info', `${signal}: shutting down (in-flight requests finish first)`));
  await runtime.close();
  certificates?.close();
  accessLog?.close();
  io.err(logLine('info', 'stopped'));
  return 0;
}

/** `--port-map 443=127.0.0.1:8443,80=127.0.0.1:8080`, each entry checked (host/runtime/gateway-ports.ts). */
function portMapFlag(text: string | undefined): GatewayPort[] | undefined {
  if (text === undefined) return undefined;
  try {
    return parseGatewayPorts(text);
  } catch (err) {
    throw new UsageError(PROXY_SPEC.command, `--port-map: ${(err as Error).message}`);
  }
}

/** `--labels app=web,version=v1` → { app: 'web', version: 'v1' }; Kubernetes label syntax. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (eq <= 0 || !/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key) || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) {
      throw new UsageError(PROXY_SPEC.command, `--labels: "${item}" is not a key=value label (Kubernetes label syntax, comma-separated)`);
    }
    if (key in labels) throw new UsageError(PROXY_SPEC.command, `--labels: "${key}" is given twice`);
    labels[key] = value;
  }
  return labels;
}

/** `--workers <n>`: a positive integer, at most 256. */
export function parseWorkers(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(PROXY_SPEC.command, `--workers: expected a whole number from 1 to 256, got "${text}"`);
  }
  return n;
}

/** Where `--access-log` sends batches: stdout (`-`), nowhere (`off`: null), or a file opened for appending. */
export function openAccessLog(target: string, io: CliIo): { write: (text: string) => void; close: () => void } | null {
  if (target === 'off') return null;
  if (target === '-' || target === '') return { write: (text) => io.out(text), close: () => {} };
  let fd: number;
  try {
    fd = openSync(target, 'a');
  } catch (err) {
    throw new UsageError(PROXY_SPEC.command, `--access-log: cannot open "${target}" for appending: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return {
    // Batched already (one write per 32 KiB or 100 ms), so a synchronous write costs little.
    write: (text) => void writeSync(fd, text),
    close: () => closeSync(fd),
  };
}
