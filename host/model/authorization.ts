// AuthorizationPolicy as one proxy enforces it: the policies that select this workload (root
// namespace, its namespace, selector or targetRefs already decided by host/config), each with
// its action and rules, in Istio's structure, values already validated (CIDRs parsed, ports
// numbers). host/compile turns them into the core's authorization table; host/envoy into
// Envoy's RBAC filter. Semantics (Istio's): a rule matches when its `from` (any of its
// sources, each source all of its fields), its `to` (the same over operations) and every
// `when` condition match; an absent part matches everything; a policy matches when any of its
// rules does, and a policy without rules matches nothing. Evaluation order: CUSTOM, DENY, ALLOW
// (no ALLOW policy: allowed; ALLOW policies and none matched: denied); AUDIT only logs.

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** One value an attribute is compared with. Strings as Istio matches them. */
export type AuthzValue =
  /** `value` exactly. */
  | { readonly kind: 'exact'; readonly value: string }
  /** Istio `abc*`: starts with `value`. */
  | { readonly kind: 'prefix'; readonly value: string }
  /** Istio `*abc`: ends with `value`. */
  | { readonly kind: 'suffix'; readonly value: string }
  /** Istio `*`: any non-empty value (the attribute is present). */
  | { readonly kind: 'presence' }
  /** A path template with `{*}` (one segment) and `{**}` (the rest), as Istio's paths. */
  | { readonly kind: 'template'; readonly value: string }
  /** An address block (ipBlocks, remoteIpBlocks, source.ip, remote.ip, destination.ip). */
  | { readonly kind: 'cidr'; readonly address: string; readonly prefixLength: number }
  /** A port (ports, destination.port). */
  | { readonly kind: 'port'; readonly port: number };

/** What a field compares: the request's attributes as Istio names them. */
export type AuthzAttribute =
  | 'source.principal' // peer SPIFFE ID without `spiffe://` (principals)
  | 'source.namespace' // the namespace in the peer's SPIFFE ID (namespaces)
  | 'source.ip' // the downstream connection's address (ipBlocks)
  | 'remote.ip' // the original client (x-forwarded-for with the hops trusted; remoteIpBlocks)
  | 'request.auth.principal' // JWT `iss/sub` (requestPrincipals)
  | 'request.auth.audiences'
  | 'request.auth.presenter'
  | 'request.auth.claims' // key: the claim path
  | 'request.headers' // key: [lower-case header name]
  | 'request.host' // :authority, case-insensitive (hosts)
  | 'request.method' // methods
  | 'request.path' // the normalized path without query (paths)
  | 'destination.ip'
  | 'destination.port' // ports
  | 'connection.sni';

/** One attribute's constraint: it matches one of `values` (when any) and none of `notValues`. */
export interface AuthzField {
  readonly attribute: AuthzAttribute;
  /** request.headers: [name]; request.auth.claims: the nested claim path (`groups`, or ['a','b']). */
  readonly key?: readonly string[];
  readonly values: readonly AuthzValue[];
  readonly notValues: readonly AuthzValue[];
}

/** All fields must match (one `source`, one `operation`, or the rule's `when` list). */
export type AuthzClause = readonly AuthzField[];

export interface AuthzRule {
  /** Any of these sources; empty: any source. */
  readonly from: readonly AuthzClause[];
  /** Any of these operations; empty: any operation. */
  readonly to: readonly AuthzClause[];
  /** Every condition; empty: none. */
  readonly when: AuthzClause;
}

export interface AuthzPolicy {
  /** `<namespace>/<name>`: logs, stats (shadow_effective_policy_id) and errors name it so. */
  readonly name: string;
  readonly action: AuthzAction;
  /** Rules, any of which matching makes the policy match; none: it matches nothing. */
  readonly rules: readonly AuthzRule[];
  /** `istio.io/dry-run: "true"`: evaluated and counted as shadow, never enforced. */
  readonly dryRun: boolean;
  /** CUSTOM: the meshConfig extension provider's name. */
  readonly provider: string | null;
}
