// Runs the analyzers over the analysis input and returns Istio's result: the messages of the
// namespace analyzed (or all), without those suppressed (the resource's
// `galley.istio.io/analyze-suppress` annotation or a `--suppress code=resource` pair), sorted and
// deduplicated as Istio's SortedDedupedCopy does.
import type { AnalysisInput } from './analysis-input.js';
import { conflictingGatewayMessages } from './conflicting-gateways.js';
import { conflictingMeshGatewayHostMessages } from './conflicting-mesh-gateway-hosts.js';
import { destinationHostMessages } from './destination-hosts.js';
import { destinationRuleHostMessages } from './destination-rule-hosts.js';
import { destinationRuleTlsMessages } from './destination-rule-tls.js';
import { destinationSubsetMessages } from './destination-subsets.js';
import { gatewayCredentialMessages } from './gateway-credentials.js';
import { gatewayPortMessages } from './gateway-ports.js';
import { ingressSubsetMessages } from './ingress-subsets.js';
import { jwtClaimRouteMessages } from './jwt-claim-routes.js';
import { formatLog, friendlyName, levelRank, type AnalysisMessage } from './message.js';
import { schemaValidationMessages } from './schema-validation.js';
import { sidecarSelectorMessages } from './sidecar-selectors.js';
import { unreachableRuleMessages } from './unreachable-rules.js';
import { virtualServiceGatewayMessages } from './virtual-service-gateways.js';

/** What an analyzer may need beside the resources. */
export interface AnalyzerContext {
  /** Namespace of resources written without one. */
  defaultNamespace: string;
  /** wasmesh's `--credentials-dir` (gateway credentials as `<dir>/<name>/tls.crt`). */
  credentialsDir?: string;
}

export interface Analyzer {
  /** Istio's analyzer name. */
  name: string;
  description: string;
  run(input: AnalysisInput, context: AnalyzerContext): AnalysisMessage[];
}

export const ANALYZERS: readonly Analyzer[] = [
  { name: 'schema.ValidationAnalyzer', description: 'Runs schema validation as an analyzer and reports any violations', run: (input, c) => schemaValidationMessages(input, c.defaultNamespace) },
  { name: 'schema.ValidationAnalyzer.VirtualService', description: 'Istio\'s VirtualService validation warnings: unreachable rules (IST0130) and ineffective matches (IST0131)', run: unreachableRuleMessages },
  { name: 'virtualservice.DestinationHostAnalyzer', description: 'Checks the destination hosts associated with each virtual service', run: (input) => [...destinationHostMessages(input), ...ingressSubsetMessages(input)] },
  { name: 'virtualservice.DestinationRuleAnalyzer', description: 'Checks the destination rules associated with each virtual service', run: destinationSubsetMessages },
  { name: 'virtualservice.GatewayAnalyzer', description: 'Checks the gateways associated with each virtual service', run: virtualServiceGatewayMessages },
  { name: 'virtualservice.ConflictingMeshGatewayHostsAnalyzer', description: 'Checks if multiple virtual services associated with the mesh gateway have conflicting hosts', run: conflictingMeshGatewayHostMessages },
  { name: 'virtualservice.JWTClaimRouteAnalyzer', description: 'Checks the VirtualService using JWT claim based routing has corresponding RequestAuthentication', run: jwtClaimRouteMessages },
  { name: 'gateway.IngressGatewayPortAnalyzer', description: 'Checks a gateway\'s ports against the gateway\'s Kubernetes service ports', run: gatewayPortMessages },
  { name: 'gateway.SecretAnalyzer', description: 'Checks a gateway\'s referenced secrets for correctness', run: (input, c) => gatewayCredentialMessages(input, c.credentialsDir !== undefined ? { credentialsDir: c.credentialsDir } : {}) },
  { name: 'gateway.ConflictingGatewayAnalyzer', description: 'Checks a gateway\'s selector, port number and hosts', run: conflictingGatewayMessages },
  { name: 'destinationrule.CaCertificateAnalyzer', description: 'Checks if caCertificates is set when TLS mode is SIMPLE/MUTUAL', run: destinationRuleTlsMessages },
  { name: 'destinationrule.PodNotSelectedAnalyzer', description: 'Checks that a DestinationRule\'s host is a known service', run: destinationRuleHostMessages },
  { name: 'sidecar.SelectorAnalyzer', description: 'Checks that no two Sidecars without a workload selector share a namespace (Istio\'s Pod checks need Pods, which wasmesh has not)', run: sidecarSelectorMessages },
];

export interface AnalyzeOptions {
  /** Messages about resources of this namespace only; null: all namespaces. */
  namespace: string | null;
  /** Namespace of resources written without one. */
  defaultNamespace: string;
  credentialsDir?: string;
  /** `code=resource` pairs (istioctl's --suppress): `resource` is a glob over `Kind namespace/name`, which Istio matches it against. */
  suppress?: readonly { code: string; resource: string }[];
}

const SUPPRESS_ANNOTATION = 'galley.istio.io/analyze-suppress';

/** Istio's glob (github.com/ryanuber/go-glob): `*` matches any run of characters. */
function glob(pattern: string, subject: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return re.test(subject);
}

/** Istio's message order: level (worst first), code, resource (Kind/name/namespace), then text. */
function compare(a: AnalysisMessage, b: AnalysisMessage): number {
  const level = levelRank(a.type.level) - levelRank(b.type.level);
  if (level !== 0) return level;
  if (a.type.code !== b.type.code) return a.type.code < b.type.code ? -1 : 1;
  if (a.origin === null || b.origin === null) {
    if (a.origin !== b.origin) return a.origin === null ? -1 : 1;
  } else {
    const ca = `${a.origin.kind}/${a.origin.name}/${a.origin.namespace}`;
    const cb = `${b.origin.kind}/${b.origin.name}/${b.origin.namespace}`;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  const sa = formatLog(a);
  const sb = formatLog(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export function analyze(input: AnalysisInput, options: AnalyzeOptions): AnalysisMessage[] {
  const annotations = new Map(input.resources.map((r) => [`${r.kind} ${r.namespace}/${r.name}`, r.annotations]));
  const context: AnalyzerContext = { defaultNamespace: options.defaultNamespace, ...(options.credentialsDir !== undefined ? { credentialsDir: options.credentialsDir } : {}) };
  const all = ANALYZERS.flatMap((a) => a.run(input, context));
  const kept = all.filter((m) => {
    if (m.origin === null) return true;
    if (options.namespace !== null && m.origin.namespace !== '' && m.origin.namespace !== options.namespace) return false;
    const codes = annotations.get(`${m.origin.kind} ${m.origin.namespace}/${m.origin.name}`)?.[SUPPRESS_ANNOTATION];
    if (codes !== undefined && codes !== '' && codes.split(',').some((c) => c === '*' || c === m.type.code)) return false;
    return !(options.suppress ?? []).some((s) => s.code === m.type.code && glob(s.resource, friendlyName(m.origin!)));
  });
  kept.sort(compare);
  // Duplicates are adjacent once sorted; two messages are the same when they print the same.
  return kept.filter((m, i) => i === 0 || formatLog(kept[i - 1]!) !== formatLog(m));
}
