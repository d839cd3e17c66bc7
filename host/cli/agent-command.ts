// `wasmesh agent`: the workload agent for a stock Envoy, as Istio's pilot-agent serves one: it
// gets the workload's certificate from the control plane's CA with the workload's token, renews
// it at half life, and serves it over SDS on Istio's Unix socket as the `default` and `ROOTCA`
// secrets; Envoy (bootstrapped with `wasmesh envoy-bootstrap --sds <socket>`) swaps each renewal
// in without a restart.
import { readFileSync } from 'node:fs';
import { formatHelp, hostPortFlag, parseArgs, UsageError, type CommandSpec } from './args.js';
import { logLine, untilStopped, type CliIo } from './cli-io.js';
import { parseDuration } from '../common/duration.js';
import { DEFAULT_SOCKET_DIR, SDS_SOCKET_RELATIVE, sdsSocketPath } from '../agent/socket-path.js';
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, spiffeId, trustDomainProblem, type SpiffeId } from '../identity/spiffe-id.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../identity/key-algorithm.js';

export const AGENT_SPEC: CommandSpec = {
  command: 'wasmesh agent',
  summary:
    'Keeps a workload\'s certificate from the control plane\'s CA (CSR with the workload token, renewal at half life) and serves it ' +
    `to a local stock Envoy over SDS on a Unix socket at <socket-dir>/${SDS_SOCKET_RELATIVE}, as Istio's agent does: ` +
    'secret `default` (certificate chain and key) and `ROOTCA` (trust bundle). A renewal is pushed to Envoy, which needs no restart.',
  flags: [
    { name: 'token-file', kind: 'string', valueName: '<file>', help: 'the workload token (`wasmesh token -o`), read at each request (required)' },
    { name: 'ca-root', kind: 'string', valueName: '<file>', help: 'the trust bundle that authenticates the CA (its --ca-dir\'s root-cert.pem) (required)' },
    { name: 'ca-address', kind: 'string', valueName: '<host:port>', help: 'the control plane\'s CA (--secure-listen)', defaultText: '127.0.0.1:15012' },
    { name: 'namespace', kind: 'string', valueName: '<ns>', help: 'the workload\'s namespace (required)' },
    { name: 'service-account', kind: 'string', valueName: '<sa>', help: 'the workload\'s service account', defaultText: 'default' },
    { name: 'trust-domain', kind: 'string', valueName: '<domain>', help: 'the SPIFFE trust domain', defaultText: DEFAULT_TRUST_DOMAIN },
    { name: 'cert-ttl', kind: 'string', valueName: '<duration>', help: 'lifetime to ask for', defaultText: 'the CA\'s (--cert-ttl of the control plane)' },
    { name: 'key-algorithm', kind: 'string', valueName: '<ecdsa-p256|rsa-2048>', help: 'the workload key', defaultText: 'ecdsa-p256' },
    { name: 'socket-dir', kind: 'string', valueName: '<dir>', help: `the directory ${SDS_SOCKET_RELATIVE} is taken from (Istio: /)`, defaultText: `${DEFAULT_SOCKET_DIR} (the working directory)` },
  ],
  epilog: [
    'Example:',
    '  wasmesh control-plane -f mesh.yaml --ca-dir ./ca &',
    '  wasmesh token --namespace shop --service-account cart --ca-dir ./ca -o cart.token',
    '  wasmesh agent --token-file cart.token --ca-root ca/root-cert.pem --namespace shop --service-account cart --socket-dir ./cart &',
    '  wasmesh envoy-bootstrap --sds ./cart/var/run/secrets/workload-spiffe-uds/socket … > envoy.yaml && envoy -c envoy.yaml',
  ],
};

export async function agentCommand(argv: string[], io: CliIo): Promise<number> {
  const { help, values } = parseArgs(AGENT_SPEC, argv);
  if (help) {
    io.out(formatHelp(AGENT_SPEC));
    return 0;
  }
  const cmd = AGENT_SPEC.command;
  const tokenFile = values['token-file'] as string | undefined;
  const caRoot = values['ca-root'] as string | undefined;
  const namespace = values.namespace as string | undefined;
  if (tokenFile === undefined) throw new UsageError(cmd, '--token-file is required');
  if (caRoot === undefined) throw new UsageError(cmd, '--ca-root is required');
  if (namespace === undefined) throw new UsageError(cmd, '--namespace is required');
  const caAddress = hostPortFlag(cmd, '--ca-address', (values['ca-address'] as string | undefined) ?? '127.0.0.1:15012');
  const trustDomain = (values['trust-domain'] as string | undefined) ?? DEFAULT_TRUST_DOMAIN;
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) throw new UsageError(cmd, `--trust-domain: ${tdProblem}`);
  let identity: SpiffeId;
  try {
    identity = spiffeId(namespace, (values['service-account'] as string | undefined) ?? 'default', trustDomain);
  } catch (err) {
    throw new UsageError(cmd, (err as Error).message);
  }
  let ttlMs = 0;
  if (values['cert-ttl'] !== undefined) {
    const ttl = parseDuration(values['cert-ttl'] as string);
    if (!ttl.ok) throw new UsageError(cmd, `--cert-ttl: ${ttl.reason}`);
    if (ttl.ms < 1000) throw new UsageError(cmd, '--cert-ttl: at least 1s');
    ttlMs = ttl.ms;
  }
  const alg = (values['key-algorithm'] as string | undefined) ?? 'ecdsa-p256';
  if (!KEY_ALGORITHMS.includes(alg as KeyAlgorithm)) throw new UsageError(cmd, `--key-algorithm: expected ${KEY_ALGORITHMS.join(' or ')}, got "${alg}"`);
  const socketDir = (values['socket-dir'] as string | undefined) ?? DEFAULT_SOCKET_DIR;

  const log = (level: 'info' | 'warn' | 'error', message: string): void => io.err(logLine(level, message));
  let rootsPem: string;
  try {
    rootsPem = readFileSync(caRoot, 'utf8');
    // Read now so that a missing token is an error at start, not a retry loop; read again at each request.
    readFileSync(tokenFile, 'utf8');
  } catch (err) {
    io.err(`${cmd}: ${(err as Error).message}\n`);
    return 1;
  }
  // Loaded only here: the X.509 library costs ~0.3 s at start.
  const { WorkloadAgent } = await import('../agent/workload-agent.js');
  let agent: InstanceType<typeof WorkloadAgent>;
  try {
    agent = new WorkloadAgent({
      socketPath: sdsSocketPath(socketDir),
      certificate: {
        address: `${caAddress.host.includes(':') ? `[${caAddress.host}]` : caAddress.host}:${caAddress.port}`,
        rootsPem,
        token: () => readFileSync(tokenFile, 'utf8'),
        identity,
        keyAlgorithm: alg as KeyAlgorithm,
        ttlMs,
      },
      log,
    });
    await agent.start();
  } catch (err) {
    io.err(`${cmd}: ${(err as Error).message}\n`);
    return 1;
  }
  log('info', `wasmesh agent: ${formatSpiffeId(identity)} from the CA at ${caAddress.host}:${caAddress.port}; SDS on ${agent.socketPath}`);
  const signal = await untilStopped(io, () => {});
  log('info', `${signal}: shutting down`);
  await agent.close();
  log('info', 'stopped');
  return 0;
}
