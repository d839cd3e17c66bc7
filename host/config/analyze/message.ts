// Istio's analysis messages (`istioctl analyze`): the message types wasmesh reports, with the
// codes, levels and templates of Istio's pkg/config/analysis/msg/messages.yaml, and one message as
// an analyzer reports it — the type, its arguments and the resource and line it points at.
// Codes Istio has retired are not reused: IST0104 (GatewayPortNotOnWorkload) was retired in Istio
// 1.20 for IST0162 (GatewayPortNotDefinedOnService), and IST0111 is
// MultipleSidecarsWithoutWorkloadSelectors (a VirtualService subset missing from every
// DestinationRule is IST0101 "host+subset in destinationrule").

/** Istio's levels, worst first: a threshold keeps the messages at its level or worse. */
export type Level = 'Error' | 'Warning' | 'Info';

export const LEVELS: readonly Level[] = ['Error', 'Warning', 'Info'];

/** `Error` < `Warning` < `Info` in Istio's sort order. */
export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** Istio's MessageThreshold: a level name in any case (`error`, `WARNING`), or null. */
export function parseLevel(text: string): Level | null {
  return LEVELS.find((l) => l.toUpperCase() === text.toUpperCase()) ?? null;
}

/** `level` is at `threshold` or worse (Istio's IsWorseThanOrEqualTo). */
export function atOrAbove(level: Level, threshold: Level): boolean {
  return levelRank(level) <= levelRank(threshold);
}

export interface MessageType {
  /** Istio's message name, e.g. ReferencedResourceNotFound. */
  readonly name: string;
  readonly code: string;
  readonly level: Level;
  /** Go format verbs as in messages.yaml: %s, %v, %q, %d (rendered by `render`). */
  readonly template: string;
}

const type = (name: string, code: string, level: Level, template: string): MessageType => ({ name, code, level, template });

/** The message types the analyzers here report, as Istio defines them. */
export const MESSAGES = {
  ReferencedResourceNotFound: type('ReferencedResourceNotFound', 'IST0101', 'Error', 'Referenced %s not found: %q'),
  SchemaValidationError: type('SchemaValidationError', 'IST0106', 'Error', 'Schema validation error: %v'),
  ConflictingMeshGatewayVirtualServiceHosts: type(
    'ConflictingMeshGatewayVirtualServiceHosts', 'IST0109', 'Error',
    'The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.',
  ),
  MultipleSidecarsWithoutWorkloadSelectors: type(
    'MultipleSidecarsWithoutWorkloadSelectors', 'IST0111', 'Error',
    'The Sidecars %v in namespace %q have no workload selector, which can lead to undefined behavior.',
  ),
  VirtualServiceDestinationPortSelectorRequired: type(
    'VirtualServiceDestinationPortSelectorRequired', 'IST0112', 'Error',
    'This VirtualService routes to a service %q that exposes multiple ports %v. Specifying a port in the destination is required to disambiguate.',
  ),
  NoServerCertificateVerificationDestinationLevel: type(
    'NoServerCertificateVerificationDestinationLevel', 'IST0128', 'Warning',
    'DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s',
  ),
  NoServerCertificateVerificationPortLevel: type(
    'NoServerCertificateVerificationPortLevel', 'IST0129', 'Warning',
    'DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s at port %s',
  ),
  VirtualServiceUnreachableRule: type('VirtualServiceUnreachableRule', 'IST0130', 'Warning', 'VirtualService rule %v not used (%s).'),
  VirtualServiceIneffectiveMatch: type(
    'VirtualServiceIneffectiveMatch', 'IST0131', 'Info',
    'VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).',
  ),
  VirtualServiceHostNotFoundInGateway: type(
    'VirtualServiceHostNotFoundInGateway', 'IST0132', 'Warning',
    'one or more host %v defined in VirtualService %s not found in Gateway %s.',
  ),
  IngressRouteRulesNotAffected: type('IngressRouteRulesNotAffected', 'IST0140', 'Warning', 'Subset in virtual service %s has no effect on ingress gateway %s requests'),
  ConflictingGateways: type('ConflictingGateways', 'IST0145', 'Error', 'Conflict with gateways %s (workload selector %s, port %s, hosts %v).'),
  JwtClaimBasedRoutingWithoutRequestAuthN: type(
    'JwtClaimBasedRoutingWithoutRequestAuthN', 'IST0149', 'Error',
    'The virtual service uses the JWT claim based routing (key: %s) but found no request authentication for the gateway (%s) pod (%s). The request authentication must first be applied for the gateway pods to validate the JWT token and make the claims available for routing.',
  ),
  InvalidGatewayCredential: type(
    'InvalidGatewayCredential', 'IST0161', 'Error',
    'The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the traffic not to work as expected.',
  ),
  GatewayPortNotDefinedOnService: type(
    'GatewayPortNotDefinedOnService', 'IST0162', 'Warning',
    'The gateway is listening on a target port (port %d) that is not defined in the Service associated with its workload instances (Pod selector %s). If you need to access the gateway port through the gateway Service, it will not be available.',
  ),
  UnknownDestinationRuleHost: type(
    'UnknownDestinationRuleHost', 'IST0174', 'Warning',
    'The host %s defined in the DestinationRule does not match any services in the mesh.',
  ),
} as const satisfies Record<string, MessageType>;

/** The resource a message is about: Istio's origin (`Kind namespace/name`) and reference (`file:line`). */
export interface MessageOrigin {
  kind: string;
  namespace: string;
  name: string;
  file: string;
  /** Line where the resource's document starts. */
  line: number;
}

/** One argument of a template: a string, a number, or a list (Go's %v of a slice: `[a b]`). */
export type MessageArg = string | number | readonly (string | number)[];

export interface AnalysisMessage {
  type: MessageType;
  args: readonly MessageArg[];
  origin: MessageOrigin | null;
  /** The offending field's line, when known; else the reference shows the document's line. */
  line: number | null;
}

export function message(type: MessageType, origin: MessageOrigin | null, line: number | null, ...args: MessageArg[]): AnalysisMessage {
  return { type, args, origin, line };
}

/** The template filled as Go's fmt does for these verbs (%q quotes, %v of a list is `[a b]`). */
export function render(m: AnalysisMessage): string {
  let i = 0;
  return m.type.template.replace(/%([sdvq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const arg = m.args[i++];
    if (arg === undefined) return `%!${verb}(MISSING)`;
    if (verb === 'q') return JSON.stringify(String(arg));
    return Array.isArray(arg) ? `[${arg.join(' ')}]` : String(arg);
  });
}

/** `VirtualService default/reviews`: Istio's FriendlyName of the origin. */
export function friendlyName(o: MessageOrigin): string {
  return `${o.kind} ${o.namespace}/${o.name}`;
}

/** `file.yaml:12`: the document's line replaced by the field's when known (Istio's Reference + ReplaceLine). */
export function reference(m: AnalysisMessage): string | null {
  if (m.origin === null) return null;
  const line = m.line ?? m.origin.line;
  // Istio prints no line for JSON sources (its Position.String).
  return m.origin.file.endsWith('.json') || line <= 0 ? m.origin.file : `${m.origin.file}:${line}`;
}

/** Istio's documentation page for a code, with istioctl's `ref` query. */
export function documentationUrl(m: AnalysisMessage): string {
  return `https://istio.io/latest/docs/reference/config/analysis/${m.type.code.toLowerCase()}/?ref=istioctl-analyze`;
}

/** istioctl's log line: `Error [IST0101] (VirtualService default/reviews file.yaml:12) Referenced host not found: "foo"`. */
export function formatLog(m: AnalysisMessage): string {
  const ref = reference(m);
  const origin = m.origin === null ? '' : ` (${friendlyName(m.origin)}${ref !== null ? ` ${ref}` : ''})`;
  return `${m.type.level} [${m.type.code}]${origin} ${render(m)}`;
}
