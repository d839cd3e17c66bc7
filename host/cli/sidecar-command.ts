// `wasmesh sidecar`: the drop-in sidecar in one process, serving every port the capture rules
// (docker/iptables-init.sh, like istio-init) send traffic to: outbound 15001 (mesh routing by
// Host), inbound 15006 (to the local app), health 15021 and the loopback admin API 15000.
import { TCP_TRANSPORT_FLAG, tcpTransportFromFlags, describeTcpTransport } from './tcp-transport-flag.js';
import { STATS_FLAG, MERGED_STATS_FLAGS, statsFromFlags, mergedStatsFromFlags } from './stats-flag.js';
import { WORKLOAD_FLAGS, workloadFromFlags, istioMetricsFromFlags } from './workload-flags.js';
import { formatHelp, parseArgs, hostPortFlag, portFlag, UsageError, type CommandSpec } from './args.js';
import { formatHostPort, type HostPort } from '../common/host-port.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { DEFAULT_ADMIN, openAccessLog, parseLabels } from './proxy-command.js';
import { ALLOW_UNENFORCED_SECURITY } from './unenforced-security-flag.js';
import { CREDENTIALS_DIR_FLAG, credentialsDirFromFlags } from './credentials-dir-flag.js';
import { XDS_FLAGS, xdsFromFlags } from './xds-flags.js';
import { LIMIT_FLAG, limitsFromFlags } from './limit-flag.js';
import { IDENTITY_FLAGS, identityFromFlags, xdsTlsFromFlags, startWorkloadCertificates, describeIdentity, type OwnedCertificateSource } from './identity-flags.js';
import { startSidecarRuntime, type SidecarRuntime } from '../runtime/sidecar-runtime.js';
import { activatedSockets, SocketActivationError } from '../listener/socket-activation.js';
import { parseDuration } from '../common/duration.js';
import { APP_ADDRESS_FLAG, appAddressFromFlags, podAddresses } from './app-address-flag.js';
import { appLoopback, describeFamilies, onPodWildcard, type IpFamilies } from '../model/ip-families.js';

export const DEFAULT_OUTBOUND = '0.0.0.0:15001';
export const DEFAULT_INBOUND = '0.0.0.0:15006';
export const DEFAULT_HEALTH = '0.0.0.0:15021';
/** How the defaults above change on a pod with IPv6 (one dual-stack socket each). */
const ON_IPV6 = ' ([::] when the pod has IPv6: $INSTANCE_IPS, else its interfaces)';
/** The admin API's port; its host is the pod's localhost (appLoopback), never a wildcard. */
export const ADMIN_PORT = 15000;
/** Istio's ProxyConfig terminationDrainDuration default. */
export const DEFAULT_TERMINATION_DRAIN_MS = 5000;

/**
 * Ports the sidecar serves itself (Istio's admin, outbound, inbound, health, Prometheus): an app
 * port among them would make the inbound listener forward into the sidecar, a loop.
 */
export const SIDECAR_PORTS = [15000, 15001, 15006, 15020, 15021, 15090] as const;

export const SIDECAR_SPEC: CommandSpec = {
  command: 'wasmesh sidecar',
  summary:
    'Runs the drop-in sidecar: the outbound listener routes the app\'s requests by Host through the mesh ' +
    '(VirtualServices for `mesh`, as `wasmesh proxy` without --gateway); the inbound listener hands ' +
    'requests for the pod to the app at 127.0.0.1:<port> (--app-address; [::1] on an IPv6-only pod, where the admin API binds [::1] too), the port being the Host header\'s when it is one ' +
    'of --app-ports (none: the first app port; another: 404 NR); the health port answers GET /healthz/ready. ' +
    'The files are watched: a valid change is applied live, an invalid one is logged and the last good config keeps serving.',
  flags: [
    { name: 'file', short: 'f', kind: 'string', repeat: true, valueName: '<file|dir>', help: 'Istio YAML file or folder of them' },
    { name: 'app-ports', kind: 'string', valueName: '<p[,p…]>', help: 'the app\'s ports inbound requests may reach (the init\'s -b ports)' },
    APP_ADDRESS_FLAG,
    { name: 'outbound', kind: 'string', valueName: '<host:port>', help: 'outbound capture listener', defaultText: DEFAULT_OUTBOUND + ON_IPV6 },
    { name: 'inbound', kind: 'string', valueName: '<host:port>', help: 'inbound capture listener', defaultText: DEFAULT_INBOUND + ON_IPV6 },
    { name: 'health', kind: 'string', valueName: '<host:port>', help: 'health port (GET /healthz/ready)', defaultText: DEFAULT_HEALTH + ON_IPV6 },
    { name: 'admin', kind: 'string', valueName: '<host:port>', help: 'admin API address (loopback only unless told: it has no authentication)', defaultText: `${DEFAULT_ADMIN} ([::1]:${ADMIN_PORT} on an IPv6-only pod, as Istio's bootstrap binds it)` },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'namespace of resources that name none, and of this workload (sourceNamespace, short names)', defaultText: 'default' },
    { name: 'labels', kind: 'string', valueName: '<k=v,…>', help: 'this workload\'s labels (VirtualService sourceLabels)' },
    { name: 'access-log', kind: 'string', valueName: '<path|-|off>', help: 'where access-log lines go: stdout (-, a line per request), a file (appended, in batches), off for none', defaultText: '-' },
    { name: 'termination-drain-duration', kind: 'string', valueName: '<duration>', help: 'on SIGTERM or POST /quitquitquit: the inbound listener drains (new connections refused, open ones closed after their request), the outbound one keeps serving the app; the process exits when no connection is left or after this long (Istio\'s terminationDrainDuration)', defaultText: '$TERMINATION_DRAIN_DURATION_SECONDS s, else 5s' },
    { name: 'minimum-drain-duration', kind: 'string', valueName: '<duration>', help: 'the termination drain does not end on zero connections before this long (Istio\'s MINIMUM_DRAIN_DURATION; EXIT_ON_ZERO_ACTIVE_CONNECTIONS=false: the whole drain)', defaultText: '$MINIMUM_DRAIN_DURATION, else 0' },
    LIMIT_FLAG,
    XDS_FLAGS[0]!,
    ...IDENTITY_FLAGS,
    ...WORKLOAD_FLAGS,
    STATS_FLAG,
    ...MERGED_STATS_FLAGS,
    TCP_TRANSPORT_FLAG,
    ALLOW_UNENFORCED_SECURITY,
    CREDENTIALS_DIR_FLAG,
  ],
  epilog: [
    'Access log lines (Envoy default format plus the upstream cluster: `inbound|5005||` or `outbound|…`) go',
    'to stdout unless --access-log says otherwise; operational logs to stderr. SIGHUP reloads the config.',
    'SIGTERM, SIGINT or POST /quitquitquit (admin, or the merged-stats port 15020 from loopback, as pilot-agent): readiness fails,',
    'the inbound listener drains while the outbound one keeps serving, and the process exits 0 when no connection is left or',
    'at --termination-drain-duration, whichever comes first.',
    'Run it as the uid the capture rules exempt (1337), or its own connections are captured again.',
    'Socket activation (systemd\'s LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, names `outbound` and `inbound`): the',
    'listeners accept on the descriptors passed instead of binding. With the init\'s -m TPROXY they must be',
    'transparent, made by the image\'s helper (or a systemd .socket unit with Transparent=yes):',
    '  wasmesh-listen --transparent --listen outbound=0.0.0.0:15001 --listen inbound=0.0.0.0:15006 --user 1337 -- \\',
    '    wasmesh sidecar -f /etc/wasmesh --app-ports 5005',
    'The outbound listener then routes by original destination: TCP service ports as TCP, unnamed ports by',
    'their first bytes, unknown addresses per outboundTrafficPolicy (docs/original-destination.md).',
    '',
    'Example (the init ran with -p 15001 -z 15006 -u 1337 -m REDIRECT -i \'*\' -b 5005):',
    '  wasmesh sidecar -f /etc/wasmesh --app-ports 5005 --labels app=web,version=v1',
  ],
};

/**
 * The listeners' defaults on a pod of `families`: outbound, inbound and health on the wildcard
 * (`[::]`, one dual-stack socket each, when the pod has IPv6), the admin API on the pod's
 * localhost (appLoopback: [::1] on an IPv6-only pod, else 127.0.0.1; loopback only, as Istio's).
 */
export function sidecarDefaultAddresses(families: IpFamilies): Record<'outbound' | 'inbound' | 'health' | 'admin', string> {
  return { outbound: onPodWildcard(DEFAULT_OUTBOUND, families), inbound: onPodWildcard(DEFAULT_INBOUND, families), health: onPodWildcard(DEFAULT_HEALTH, families), admin: formatHostPort(appLoopback(families), ADMIN_PORT) };
}

/** `5005,8080` → [5005, 8080]: each 1..65535, distinct, none of the sidecar's own ports. */
export function parseAppPorts(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const port = portFlag(SIDECAR_SPEC.command, '--app-ports', item);
    if (port === 0) throw new UsageError(SIDECAR_SPEC.command, '--app-ports: port 0 is not a port an app listens on');
    if ((SIDECAR_PORTS as readonly number[]).includes(port)) {
      throw new UsageError(SIDECAR_SPEC.command, `--app-ports: ${port} is one of the sidecar's own ports (${SIDECAR_PORTS.join(', ')}); forwarding to it would loop`);
    }
    if (ports.includes(port)) throw new UsageError(SIDECAR_SPEC.command, `--app-ports: ${port} is given twice`);
    ports.push(port);
  }
  if (ports.length === 0) throw new UsageError(SIDECAR_SPEC.command, '--app-ports needs at least one port');
  return ports;
}

/**
 * The termination drain's deadline: --termination-drain-duration, else pilot-agent's
 * TERMINATION_DRAIN_DURATION_SECONDS (what the injector sets from terminationDrainDuration), else
 * Istio's 5 s.
 */
export function terminationDrainFromFlags(flag: string | undefined, envSeconds: string | undefined): number {
  if (flag !== undefined) {
    const d = parseDuration(flag);
    if (!d.ok) throw new UsageError(SIDECAR_SPEC.command, `--termination-drain-duration: ${d.reason}`);
    return d.ms;
  }
  if (envSeconds === undefined || envSeconds === '') return DEFAULT_TERMINATION_DRAIN_MS;
  if (!/^\d+$/.test(envSeconds)) throw new UsageError(SIDECAR_SPEC.command, `TERMINATION_DRAIN_DURATION_SECONDS must be whole seconds, got "${envSeconds}"`);
  return Number(envSeconds) * 1000;
}

/**
 * How long the drain runs at least: --minimum-drain-duration, else Istio's MINIMUM_DRAIN_DURATION
 * (a duration); EXIT_ON_ZERO_ACTIVE_CONNECTIONS=false (Istio's default, which wasmesh does not
 * follow) makes it the whole drain; else 0 (exit as soon as no connection is left).
 */
export function minimumDrainFromFlags(flag: string | undefined, env: NodeJS.ProcessEnv, deadlineMs: number): number {
  const exitOnZero = env.EXIT_ON_ZERO_ACTIVE_CONNECTIONS;
  if (exitOnZero !== undefined && exitOnZero !== '' && exitOnZero !== 'true' && exitOnZero !== 'false') {
    throw new UsageError(SIDECAR_SPEC.command, `EXIT_ON_ZERO_ACTIVE_CONNECTIONS must be true or false, got "${exitOnZero}"`);
  }
  const text = flag ?? (env.MINIMUM_DRAIN_DURATION === '' ? undefined : env.MINIMUM_DRAIN_DURATION);
  const where = flag !== undefined ? '--minimum-drain-duration' : 'MINIMUM_DRAIN_DURATION';
  if (text !== undefined) {
    const d = parseDuration(text);
    if (!d.ok) throw new UsageError(SIDECAR_SPEC.command, `${where}: ${d.reason}`);
    return d.ms;
  }
  return exitOnZero === 'false' ? deadlineMs : 0;
}

/** parseLabels (shared with `wasmesh proxy`), its usage errors told as this command's. */
function sidecarLabels(text: string): Record<string, string> {
  try {
    return parseLabels(text);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const reason = /--labels: .*?(?= \(see `)/.exec(err.message)?.[0] ?? err.message;
    throw new UsageError(SIDECAR_SPEC.command, reason);
  }
}

export async function sidecarCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(SIDECAR_SPEC, argv);
  if (help) {
    io.out(formatHelp(SIDECAR_SPEC));
    return 0;
  }
  const files = (values.file as string[] | undefined) ?? [];
  const xds = xdsFromFlags(SIDECAR_SPEC.command, values, files, values.labels === undefined ? undefined : sidecarLabels(values.labels as string));
  if (files.length === 0 && xds === null) throw new UsageError(SIDECAR_SPEC.command, 'at least one -f <file|dir> is required (or --xds <host:port>)');
  if (values['app-ports'] === undefined) throw new UsageError(SIDECAR_SPEC.command, '--app-ports <p[,p…]> is required (the ports the init captures inbound)');
  const appPorts = parseAppPorts(values['app-ports'] as string);
  // The pod's IP families pick the app's loopback and the admin's (::1 on an IPv6-only pod), and the
  // wildcard of the listeners' defaults ([::], dual-stack, on a pod with IPv6: the kubelet probes an
  // IPv6 pod IP). Said once, as pilot-agent logs its proxy's IPs.
  const pod = podAddresses(process.env, (m) => io.err(logLine('warn', m)));
  io.err(logLine('info', `pod addresses ${pod.addresses.length > 0 ? pod.addresses.join(',') : 'none'} (${pod.from}): ${describeFamilies(pod.families)}`));
  const families = pod.families;
  const appAddress = appAddressFromFlags(SIDECAR_SPEC.command, values, families);
  const defaults = sidecarDefaultAddresses(families);
  const addr = (flag: 'outbound' | 'inbound' | 'health' | 'admin'): HostPort =>
    hostPortFlag(SIDECAR_SPEC.command, `--${flag}`, (values[flag] as string | undefined) ?? defaults[flag]);
  const outbound = addr('outbound');
  const inbound = addr('inbound');
  const health = addr('health');
  const admin = addr('admin');
  const listeners = [['--outbound', outbound], ['--inbound', inbound], ['--health', health], ['--admin', admin]] as const;
  for (const [flag, at] of listeners) {
    // An app port served by the sidecar itself would have inbound requests forwarded into it.
    if (appPorts.includes(at.port)) throw new UsageError(SIDECAR_SPEC.command, `--app-ports: ${at.port} is also the ${flag} port`);
    // uWS binds with SO_REUSEPORT: two listeners on one port would both succeed and share its
    // connections at random, so the clash is refused here.
    const clash = listeners.find(([f, other]) => f !== flag && at.port !== 0 && other.port === at.port);
    if (clash) throw new UsageError(SIDECAR_SPEC.command, `${flag} and ${clash[0]} are both port ${at.port}`);
  }
  const labels = values.labels === undefined ? undefined : sidecarLabels(values.labels as string);
  const terminationDrainMs = terminationDrainFromFlags(values['termination-drain-duration'] as string | undefined, process.env.TERMINATION_DRAIN_DURATION_SECONDS);
  const minimumDrainMs = minimumDrainFromFlags(values['minimum-drain-duration'] as string | undefined, process.env, terminationDrainMs);
  const credentialsDir = credentialsDirFromFlags(SIDECAR_SPEC.command, values);
  const identity = identityFromFlags(SIDECAR_SPEC.command, values);
  const xdsTls = xdsTlsFromFlags(SIDECAR_SPEC.command, values, identity, xds !== null);
  const workload = workloadFromFlags(SIDECAR_SPEC.command, values, identity, labels);
  const istioMetrics = istioMetricsFromFlags(SIDECAR_SPEC.command, values);
  const stats = statsFromFlags(SIDECAR_SPEC.command, values, families);
  const tcpTransport = tcpTransportFromFlags(SIDECAR_SPEC.command, values);
  const mergedStats = mergedStatsFromFlags(SIDECAR_SPEC.command, values, appAddress, families);
  if (xds) xds.identity.workloadName = workload.name;
  const log = (level: 'info' | 'warn' | 'error', message: string) => io.err(logLine(level, message));
  const accessLogTarget = (values['access-log'] as string | undefined) ?? '-';
  // stdout stays a line per request (as before the flag); a file takes the proxy's batches.
  const accessLogFile = accessLogTarget === '-' || accessLogTarget === '' ? null : openAccessLog(accessLogTarget, io);
  const accessLog = accessLogTarget === '-' || accessLogTarget === '' ? { accessLog: (line: string) => io.out(line + '\n') }
    : accessLogFile ? { accessLogBatch: accessLogFile.write } : {};

  // Socket activation: read once, then taken out of the environment (as sd_listen_fds(1) does), so
  // that processes the sidecar starts do not try to adopt descriptors that are not theirs.
  let activated: ReadonlyMap<string, number>;
  try {
    activated = activatedSockets(process.env, process.pid, ['outbound', 'inbound']);
  } catch (err) {
    if (!(err instanceof SocketActivationError)) throw err;
    accessLogFile?.close();
    io.err(`wasmesh sidecar: ${err.message}\n`);
    return 1;
  }
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete process.env[k];
  const listenFds = { ...(activated.has('outbound') ? { outbound: activated.get('outbound')! } : {}), ...(activated.has('inbound') ? { inbound: activated.get('inbound')! } : {}) };

  let runtime: SidecarRuntime;
  let certificates: OwnedCertificateSource | null = null;
  try {
    certificates = identity ? await startWorkloadCertificates(identity, log) : null;
    runtime = await startSidecarRuntime({
      sources: files,
      namespace: values.namespace as string | undefined,
      labels,
      workload,
      istioMetrics,
      stats,
      mergedStats,
      allowUnenforcedSecurity: values['allow-unenforced-security'] === true,
      ...(credentialsDir !== undefined ? { credentialsDir } : {}),
      ...(xds ? { xds: xds.xds, xdsIdentity: xds.identity } : {}),
      // Once issued, the workload certificate is presented on the xDS channel too (mTLS).
      ...(xdsTls ? { xdsTls: { ...xdsTls, ...(certificates ? { certificate: certificates } : {}) } } : {}),
      limits: limitsFromFlags(SIDECAR_SPEC.command, values.limit as string[] | undefined),
      tcpTransport: tcpTransport.kind,
      outbound,
      inbound,
      health,
      admin,
      appPorts,
      appAddress,
      terminationDrainMs,
      minimumDrainMs,
      ...(activated.size > 0 ? { listenFds } : {}),
      ...accessLog,
      ...(certificates ? { workloadCertificates: certificates } : {}),
      log,
    });
  } catch (err) {
    certificates?.close();
    accessLogFile?.close();
    io.err(`wasmesh sidecar: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const m = runtime.manager;
  const p = runtime.ports;
  io.err(
    logLine(
      'info',
      `wasmesh sidecar: outbound on ${formatHostPort(outbound.host, p.outbound)}, inbound on ${formatHostPort(inbound.host, p.inbound)} ` +
        `(to ${appAddress} ports ${appPorts.join(',')}), health on http://${formatHostPort(health.host, p.health)}/healthz/ready, ` +
        `admin on http://${formatHostPort(admin.host, p.admin)} (${m.describe()}); ${describeTcpTransport(tcpTransport)}` +
        (identity ? `; ${describeIdentity(identity)}` : ''),
    ),
  );
  // A signal, or the admin API's POST /quitquitquit (the runtime is already draining then).
  const signal = await Promise.race([untilStopped(io, () => runtime.reload('SIGHUP')), runtime.quitRequested.then(() => 'POST /quitquitquit')]);
  io.err(logLine('info', `${signal}: draining (readiness now fails; inbound drains, outbound serves until idle or the deadline)`));
  await runtime.close();
  certificates?.close();
  accessLogFile?.close();
  io.err(logLine('info', 'stopped'));
  return 0;
}
