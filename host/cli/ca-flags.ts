// The control plane's CA flags (`--ca-dir`, `--trust-domain`, `--cert-ttl`, `--secure-listen`,
// `--ca-key-algorithm`, `--kube-tokens`), declared once; the CA starts only when --ca-dir is given.
import { hostPortFlag, UsageError, type FlagSpec, type FlagValues } from './args.js';
import { parseDuration } from '../common/duration.js';
import type { CaServiceOptions } from '../identity/ca-service.js';
import { trustDomainProblem, DEFAULT_TRUST_DOMAIN } from '../identity/spiffe-id.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../identity/key-algorithm.js';

export const CA_FLAGS: FlagSpec[] = [
  { name: 'ca-dir', kind: 'string', valueName: '<dir>', help: 'run the CA: root-cert.pem, ca-cert.pem, ca-key.pem, cert-chain.pem (Istio\'s layout; generated when empty, plug-in files used as they are) and token-key.pem' },
  { name: 'trust-domain', kind: 'string', valueName: '<domain>', help: 'the SPIFFE trust domain of issued certificates', defaultText: DEFAULT_TRUST_DOMAIN },
  { name: 'cert-ttl', kind: 'string', valueName: '<duration>', help: 'lifetime of a workload certificate (renewed at half life)', defaultText: '24h' },
  { name: 'ca-key-algorithm', kind: 'string', valueName: '<ecdsa-p256|rsa-2048>', help: 'key type of a generated root', defaultText: 'ecdsa-p256' },
  { name: 'kube-tokens', kind: 'boolean', help: 'with --ca-dir: also accept Kubernetes service-account tokens (audience istio-ca), checked by a TokenReview against the API server of --kubeconfig (else $KUBECONFIG, in-cluster, ~/.kube/config)' },
  { name: 'secure-listen', kind: 'string', valueName: '<host:port>', help: 'with --ca-dir: Istio\'s CSR API over TLS', defaultText: '127.0.0.1:15012' },
];

/** The CA's options from the flags, or null without --ca-dir (the CA then stays off). */
export function caFromFlags(command: string, values: FlagValues): (Omit<CaServiceOptions, 'log' | 'kubeTokens'> & { kubeTokens: boolean }) | null {
  const dir = values['ca-dir'] as string | undefined;
  if (dir === undefined) {
    const stray = ['trust-domain', 'cert-ttl', 'ca-key-algorithm', 'secure-listen', 'kube-tokens'].find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(command, `--${stray} goes with --ca-dir (the CA runs only with a directory for its keys)`);
    return null;
  }
  if (dir === '') throw new UsageError(command, '--ca-dir: empty path');
  const trustDomain = (values['trust-domain'] as string | undefined) ?? DEFAULT_TRUST_DOMAIN;
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem) throw new UsageError(command, `--trust-domain: ${tdProblem}`);
  const ttl = parseDuration((values['cert-ttl'] as string | undefined) ?? '24h');
  if (!ttl.ok) throw new UsageError(command, `--cert-ttl: ${ttl.reason}`);
  if (ttl.ms < 1000) throw new UsageError(command, '--cert-ttl: at least 1s');
  const alg = (values['ca-key-algorithm'] as string | undefined) ?? 'ecdsa-p256';
  if (!KEY_ALGORITHMS.includes(alg as KeyAlgorithm)) throw new UsageError(command, `--ca-key-algorithm: expected ${KEY_ALGORITHMS.join(' or ')}, got "${alg}"`);
  const listen = hostPortFlag(command, '--secure-listen', (values['secure-listen'] as string | undefined) ?? '127.0.0.1:15012');
  return { dir, trustDomain, certTtlMs: ttl.ms, keyAlgorithm: alg as KeyAlgorithm, listen, kubeTokens: values['kube-tokens'] === true };
}
