// The flags that give `wasmesh proxy` and `wasmesh sidecar` their own workload certificate, declared
// once: from the control plane's CA (`--token-file`, `--ca-root`, `--ca-address`, `--trust-domain`,
// `--cert-ttl`, `--service-account`; the SPIFFE ID is spiffe://<trust-domain>/ns/<--namespace>/sa/<sa>)
// or from files mounted as Istio's /etc/certs (`--cert-dir`). Without either the proxy has no identity.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostPortFlag, UsageError, type FlagSpec, type FlagValues } from './args.js';
import { parseDuration } from '../common/duration.js';
import type { Log } from '../common/log.js';
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, spiffeId, trustDomainProblem, type SpiffeId } from '../identity/spiffe-id.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import type { AdsTls } from '../xds/ads-client.js';
import { formatHostPort } from '../common/host-port.js';

export const DEFAULT_CA_ADDRESS = '127.0.0.1:15012';
const MAX_CERT_TTL_MS = 90 * 24 * 3_600_000;

export const IDENTITY_FLAGS: FlagSpec[] = [
  { name: 'token-file', kind: 'string', valueName: '<path>', help: 'get a workload certificate from the control plane\'s CA with this token (from `wasmesh token`), renewed at half life' },
  { name: 'ca-root', kind: 'string', valueName: '<root-cert.pem>', help: 'with --token-file (required): the CA\'s trust anchor (the control plane\'s <ca-dir>/root-cert.pem)' },
  { name: 'ca-address', kind: 'string', valueName: '<host:port>', help: 'with --token-file: the CA (Istio\'s CSR API over TLS)', defaultText: DEFAULT_CA_ADDRESS },
  { name: 'trust-domain', kind: 'string', valueName: '<domain>', help: 'with --token-file: the SPIFFE trust domain', defaultText: DEFAULT_TRUST_DOMAIN },
  { name: 'cert-ttl', kind: 'string', valueName: '<duration>', help: 'with --token-file: the certificate lifetime to ask for', defaultText: '24h' },
  { name: 'service-account', kind: 'string', valueName: '<sa>', help: 'with --token-file: this workload\'s service account (the SPIFFE ID\'s sa; the namespace is --namespace)', defaultText: 'default' },
  { name: 'xds-tls', kind: 'boolean', help: 'with --xds and --token-file: xDS over TLS (the control plane\'s 15012), the server checked as istiod.istio-system.svc against --ca-root, the token sent as authorization: Bearer, the workload certificate presented once issued (mTLS)' },
  { name: 'cert-dir', kind: 'string', valueName: '<dir>', help: 'instead of --token-file: the workload certificate from cert-chain.pem, key.pem, root-cert.pem in this directory (Istio\'s /etc/certs), watched' },
];

/** What the identity flags ask for: a certificate from the CA, from mounted files, or none (null). */
export type IdentityChoice =
  | {
      readonly kind: 'ca';
      readonly tokenFile: string;
      readonly address: string;
      readonly rootsPem: string;
      readonly identity: SpiffeId;
      readonly ttlMs: number;
    }
  | { readonly kind: 'mounted'; readonly dir: string };

const CA_ONLY = ['ca-root', 'ca-address', 'trust-domain', 'cert-ttl', 'service-account', 'xds-tls'] as const;

/** The name the control plane's TLS port is checked for, as Istio's agent checks istiod's. */
export const CONTROL_PLANE_SERVER_NAME = 'istiod.istio-system.svc';

/** The identity the flags describe, or null without --token-file and --cert-dir; each mistake a UsageError naming its flag. */
export function identityFromFlags(command: string, values: FlagValues, env: NodeJS.ProcessEnv = process.env): IdentityChoice | null {
  const tokenFile = values['token-file'] as string | undefined;
  const certDir = values['cert-dir'] as string | undefined;
  if (tokenFile !== undefined && certDir !== undefined) {
    throw new UsageError(command, '--token-file and --cert-dir exclude each other: the certificate comes either from the CA or from mounted files');
  }
  if (tokenFile === undefined) {
    const stray = CA_ONLY.find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(command, `--${stray} goes with --token-file (the certificate from the control plane's CA)`);
    return certDir === undefined ? null : { kind: 'mounted', dir: certDir };
  }
  const caRoot = values['ca-root'] as string | undefined;
  if (caRoot === undefined) throw new UsageError(command, '--ca-root <root-cert.pem> is required with --token-file: the CA\'s trust anchor, without which its answer cannot be trusted');
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    throw new UsageError(command, `--token-file: cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (token === '') throw new UsageError(command, `--token-file: ${tokenFile} is empty`);
  const rootsPem = readRoots(command, caRoot);
  const address = hostPortFlag(command, '--ca-address', (values['ca-address'] as string | undefined) ?? DEFAULT_CA_ADDRESS);
  if (address.port === 0) throw new UsageError(command, '--ca-address: the CA\'s port cannot be 0');
  const trustDomain = (values['trust-domain'] as string | undefined) ?? DEFAULT_TRUST_DOMAIN;
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) throw new UsageError(command, `--trust-domain: ${tdProblem}`);
  const ttl = parseDuration((values['cert-ttl'] as string | undefined) ?? '24h');
  if (!ttl.ok) throw new UsageError(command, `--cert-ttl: ${ttl.reason}`);
  if (ttl.ms < 1000 || ttl.ms > MAX_CERT_TTL_MS) throw new UsageError(command, '--cert-ttl: from 1s to 90 days (2160h)');
  // The same fallbacks as the xDS node (xds-flags.ts), so that the certificate and the node name one workload.
  const namespace = (values.namespace as string | undefined) ?? env.POD_NAMESPACE ?? 'default';
  const serviceAccount = (values['service-account'] as string | undefined) ?? env.SERVICE_ACCOUNT ?? 'default';
  let identity: SpiffeId;
  try {
    identity = spiffeId(namespace, serviceAccount, trustDomain);
  } catch (err) {
    throw new UsageError(command, `--namespace ${namespace} / --service-account ${serviceAccount}: ${(err as Error).message}`);
  }
  const where = formatHostPort(address.host, address.port);
  return { kind: 'ca', tokenFile, address: where, rootsPem, identity, ttlMs: ttl.ms };
}

/**
 * `--xds-tls`: how to reach the control plane's TLS xDS port, or null without the flag. It needs
 * --xds (where) and --token-file with --ca-root (the token authenticates the proxy, the root the
 * control plane); `identity` is what identityFromFlags returned.
 */
export function xdsTlsFromFlags(command: string, values: FlagValues, identity: IdentityChoice | null, hasXds: boolean): AdsTls | null {
  if (values['xds-tls'] !== true) return null;
  if (!hasXds) throw new UsageError(command, '--xds-tls goes with --xds <host:port> (the control plane\'s TLS port, e.g. 127.0.0.1:15012)');
  if (identity?.kind !== 'ca') throw new UsageError(command, '--xds-tls needs --token-file and --ca-root: the token authenticates this proxy, the root the control plane');
  const tokenFile = identity.tokenFile;
  return { rootsPem: identity.rootsPem, serverName: CONTROL_PLANE_SERVER_NAME, token: () => readFileSync(tokenFile, 'utf8') };
}

/** The PEM certificates of `--ca-root`, each checked to parse. */
function readRoots(command: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(command, `--ca-root: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(command, `--ca-root: ${path} holds no PEM certificate`);
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new UsageError(command, `--ca-root: certificate ${i + 1} of ${path} does not parse: ${(err as Error).message}`);
    }
  });
  return text;
}

/** A workload certificate source the process owns: stopped by close(). */
export type OwnedCertificateSource = WorkloadCertificateSource & { close(): void };

/**
 * Creates the source the choice names and starts it: the CA's asks in the background (the proxy is
 * not ready until the first certificate is held); mounted files are read now, and files that do not
 * fit throw their located error (MountedCertificateError, or TLS_FILE for a missing file).
 */
export async function startWorkloadCertificates(choice: IdentityChoice, log: Log): Promise<OwnedCertificateSource> {
  // Loaded only with an identity: a proxy without one does not load the CA client (@peculiar/x509).
  if (choice.kind === 'mounted') {
    const { MountedWorkloadCertificates } = await import('../tls/mounted-workload-certificates.js');
    return MountedWorkloadCertificates.open({ dir: choice.dir, log });
  }
  const { CaWorkloadCertificates } = await import('../tls/ca-workload-certificates.js');
  const source = new CaWorkloadCertificates({
    address: choice.address,
    rootsPem: choice.rootsPem,
    // Read on every request: a rewritten token (as a projected one is) is used at the next renewal.
    token: () => readFileSync(choice.tokenFile, 'utf8'),
    identity: choice.identity,
    ttlMs: choice.ttlMs,
    log,
  });
  void source.start();
  return source;
}

/** One line for the start-up log. */
export function describeIdentity(choice: IdentityChoice): string {
  return choice.kind === 'mounted'
    ? `workload certificate from ${choice.dir}`
    : `workload certificate for ${formatSpiffeId(choice.identity)} from the CA at ${choice.address}`;
}
