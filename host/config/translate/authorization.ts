// AuthorizationPolicy resources (security.istio.io v1 and v1beta1) → the policies ONE proxy
// enforces (host/model/authorization.ts), as istiod decides them for a workload:
// - scope (pilot's ListAuthorizationPolicies / ShouldAttachPolicy): policies of the root
//   namespace and of the proxy's namespace; `selector.matchLabels` a subset of the proxy's labels
//   (none: every workload there); `targetRefs` attach only to Kubernetes Gateway API gateways
//   (proxies labelled gateway.networking.k8s.io/gateway-name) and waypoints, never to a
//   sidecar or an Istio-Gateway proxy; a Gateway API gateway takes selector policies too.
// - validation (Istio's ValidateAuthorizationPolicy and ValidateAttribute), each finding a
//   located issue: every policy in effect is checked, whichever proxy this is, since the files
//   are shared by the mesh's proxies.
// - values (security/authz/model): principals without `spiffe://`, `cluster.local` or the mesh's
//   own trust domain in a principal replaced by the mesh's trust domain (trustdomain.Bundle with
//   no aliases); serviceAccounts as the principal's `/ns/<ns>/sa/<sa>` ending; `when` keys.
// Output order: root-namespace policies first, then the proxy's namespace, each by name, so the
// same policies give the same tables whichever file holds them.
import type { AuthzAction, AuthzAttribute, AuthzClause, AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../../model/authorization.js';
import type { MeshSettings } from '../../model/mesh-settings.js';
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt, type DocumentRef } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { AuthorizationPolicySpec, AuthorizationRuleSpec, RequestAuthenticationSpec } from '../security-schemas.js';
import type { PathSegment } from '../yaml-source.js';
import { cidrValue, claimKey, hasInnerWildcard, headerKey, pathValue, portValue, stringValue, type Parsed } from './authz-values.js';

/** The proxy the policies are chosen for. */
export interface AuthzProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The mesh's trust domain (LoadOptions.trustDomain; Istio's default cluster.local). */
  readonly trustDomain: string;
  /**
   * Whether a caller can present a mesh identity to this proxy (a workload certificate and an
   * inbound that is not plaintext-only): without one, principals and namespaces never match.
   */
  readonly peerIdentity: boolean;
}

export interface AuthzContext {
  readonly settings: MeshSettings;
  readonly proxy: AuthzProxy;
  readonly issues: ConfigIssue[];
  readonly warnings: string[];
}

/** Istio's label on a Kubernetes Gateway API gateway's pods: the Gateway it serves. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** The policies `ctx.proxy` enforces; every AuthorizationPolicy in `resources` is validated. */
export function authorizationPolicies(resources: readonly SourcedResource[], ctx: AuthzContext): AuthzPolicy[] {
  const root = ctx.settings.rootNamespace;
  const chosen: Array<{ policy: AuthzPolicy; root: boolean }> = [];
  for (const r of resources) {
    if (r.resource.kind !== 'AuthorizationPolicy') continue;
    const policy = translatePolicy(r, ctx);
    if (policy === null || !applies(r, ctx.proxy, root)) continue;
    proxyWarnings(r, policy, resources, ctx);
    chosen.push({ policy, root: r.resource.namespace === root });
  }
  chosen.sort((a, b) => (a.root !== b.root ? (a.root ? -1 : 1) : a.policy.name < b.policy.name ? -1 : a.policy.name > b.policy.name ? 1 : 0));
  return chosen.map((c) => c.policy);
}

// ---- scope ------------------------------------------------------------------------------------

function selected(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

type TargetRef = NonNullable<AuthorizationPolicySpec['targetRef']>;

function targetRefsOf(spec: AuthorizationPolicySpec): TargetRef[] {
  if (spec.targetRefs !== undefined && spec.targetRefs.length > 0) return spec.targetRefs;
  return spec.targetRef !== undefined ? [spec.targetRef] : [];
}

/** Istio's ShouldAttachPolicy for a sidecar or gateway (never a waypoint: wasmesh runs none). */
function applies(r: SourcedResource, proxy: AuthzProxy, root: string): boolean {
  const ns = r.resource.namespace;
  if (ns !== root && ns !== proxy.namespace) return false;
  const spec = r.resource.spec as AuthorizationPolicySpec;
  const refs = targetRefsOf(spec);
  const gatewayName = proxy.labels[GATEWAY_NAME_LABEL];
  if (gatewayName === undefined) return refs.length === 0 && selected(spec.selector?.matchLabels, proxy.labels);
  // A Gateway API gateway: selector policies (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by
  // default), or a targetRef to its Gateway from its own namespace.
  if (refs.length === 0) return selected(spec.selector?.matchLabels, proxy.labels);
  return refs.some((t) => ns === proxy.namespace && (t.namespace ?? '') === '' && t.kind === 'Gateway' && t.group === GATEWAY_API_GROUP && t.name === gatewayName);
}

// ---- one policy -------------------------------------------------------------------------------

/** What translating one policy needs: where it is, and where findings go. */
interface PolicyCursor {
  readonly ref: DocumentRef;
  readonly namespace: string;
  readonly action: AuthzAction;
  readonly ctx: AuthzContext;
  readonly issues: ConfigIssue[];
}

function issue(c: PolicyCursor, code: ConfigIssue['code'], path: readonly PathSegment[], reason: string): void {
  c.issues.push(issueAt(c.ref, code, path, reason));
}

function warn(c: PolicyCursor, path: readonly PathSegment[], reason: string): void {
  c.ctx.warnings.push(warningAt(c.ref, path, reason));
}

/** The policy in the model, or null when it does not validate (its issues pushed). */
function translatePolicy(r: SourcedResource, ctx: AuthzContext): AuthzPolicy | null {
  const spec = r.resource.spec as AuthorizationPolicySpec;
  const action: AuthzAction = spec.action ?? 'ALLOW';
  const c: PolicyCursor = { ref: r.ref, namespace: r.resource.namespace, action, ctx, issues: [] };
  checkAttachment(spec, c);
  const dryRun = dryRunOf(r, c);
  let provider: string | null = null;
  if (action === 'CUSTOM') provider = customProvider(spec, c);
  else if (spec.provider !== undefined) issue(c, 'invalid_value', ['spec', 'provider'], `provider is only for action CUSTOM (this policy's action is ${action})`);
  const rules = spec.rules ?? [];
  if (action === 'DENY' && rules.length === 0) {
    issue(c, 'missing_field', spec.rules === undefined ? ['spec'] : ['spec', 'rules'], 'a DENY policy without rules would never be triggered (as Istio, refused); add an empty rule `{}` to deny every request');
  }
  const built = rules.map((rule, i) => translateRule(rule, ['spec', 'rules', i], c));
  ctx.issues.push(...c.issues);
  if (c.issues.length > 0) return null;
  return { name: `${r.resource.namespace}/${r.resource.name}`, action, rules: built, dryRun, provider };
}

const ALLOWED_TARGETS = 'Gateway (gateway.networking.k8s.io), GatewayClass (gateway.networking.k8s.io), Service (core) or ServiceEntry (networking.istio.io)';

/** selector / targetRef / targetRefs: one of them (Istio's validateOneOfSelectorType), each valid. */
function checkAttachment(spec: AuthorizationPolicySpec, c: PolicyCursor): void {
  const kinds = [spec.selector !== undefined ? 'selector' : null, spec.targetRef !== undefined ? 'targetRef' : null, (spec.targetRefs?.length ?? 0) > 0 ? 'targetRefs' : null].filter((k): k is string => k !== null);
  if (kinds.length > 1) issue(c, 'invalid_value', ['spec', kinds[1]!], `only one of selector, targetRef or targetRefs can be set (found ${kinds.join(' and ')})`);
  if (spec.selector !== undefined) {
    const labels = spec.selector.matchLabels ?? {};
    for (const [k, v] of Object.entries(labels)) {
      if (k === '') issue(c, 'invalid_value', ['spec', 'selector', 'matchLabels', k], 'an empty label key is not supported in a selector');
      else if (k.includes('*') || v.includes('*')) issue(c, 'invalid_value', ['spec', 'selector', 'matchLabels', k], `wildcards are not supported in a selector (${k}=${v})`);
    }
    if (Object.keys(labels).length === 0) warn(c, ['spec', 'selector'], 'selector without labels: it selects every workload of the namespace');
  }
  const refs: Array<{ ref: TargetRef; path: PathSegment[] }> = spec.targetRef !== undefined ? [{ ref: spec.targetRef, path: ['spec', 'targetRef'] }] : [];
  (spec.targetRefs ?? []).forEach((ref, i) => refs.push({ ref, path: ['spec', 'targetRefs', i] }));
  for (const { ref, path } of refs) {
    if (ref.name === '') issue(c, 'missing_field', [...path, 'name'], 'targetRef name must be set');
    if (ref.namespace !== undefined && ref.namespace !== '') issue(c, 'invalid_value', [...path, 'namespace'], 'targetRef namespace must not be set: cross-namespace references are not supported (as in Istio)');
    const group = ref.group === undefined || ref.group === '' ? 'core' : ref.group;
    const known = (ref.kind === 'Gateway' && group === GATEWAY_API_GROUP) || (ref.kind === 'GatewayClass' && group === GATEWAY_API_GROUP) || (ref.kind === 'Service' && group === 'core') || (ref.kind === 'ServiceEntry' && group === 'networking.istio.io');
    if (!known) {
      issue(c, 'invalid_value', path, `targetRef must be a ${ALLOWED_TARGETS}, got ${ref.group ?? ''}/${ref.kind}`);
      continue;
    }
    const what = ref.kind === 'Gateway'
      ? `it applies only to a proxy labelled ${GATEWAY_NAME_LABEL}=${ref.name} (a Kubernetes Gateway API gateway), never to a sidecar or to a proxy serving an Istio Gateway (--gateway)`
      : `${ref.kind} targets are for waypoints, which wasmesh does not run: it applies to no proxy here`;
    warn(c, path, `targetRef ${ref.kind} ${ref.name}: ${what}`);
  }
}

/** `istio.io/dry-run`, read as Go's strconv.ParseBool reads it (Istio's isDryRun). */
function dryRunOf(r: SourcedResource, c: PolicyCursor): boolean {
  const raw = r.resource.annotations?.[DRY_RUN_ANNOTATION];
  if (raw === undefined) return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  issue(c, 'invalid_value', ['metadata', 'annotations', DRY_RUN_ANNOTATION], `${JSON.stringify(raw)} is not a boolean ("true" or "false")`);
  return false;
}

function customProvider(spec: AuthorizationPolicySpec, c: PolicyCursor): string | null {
  if ((spec.rules ?? []).length === 0) {
    issue(c, 'missing_field', spec.rules === undefined ? ['spec'] : ['spec', 'rules'], 'a CUSTOM policy without rules would never be triggered (as Istio, refused); add an empty rule `{}` to check every request');
    return null;
  }
  const name = spec.provider?.name;
  if (name === undefined || name === '') {
    issue(c, 'missing_field', spec.provider === undefined ? ['spec', 'provider'] : ['spec', 'provider', 'name'], 'action CUSTOM needs provider.name, one of meshConfig extensionProviders');
    return null;
  }
  const known = c.ctx.settings.extAuthzProviders.map((p) => p.name);
  if (!known.includes(name)) {
    issue(c, 'invalid_value', ['spec', 'provider', 'name'], `no ext_authz provider named ${JSON.stringify(name)} in meshConfig extensionProviders (${known.length === 0 ? 'none defined' : `defined: ${known.join(', ')}`})`);
    return null;
  }
  return name;
}

// ---- rules ------------------------------------------------------------------------------------

type SourceSpec = NonNullable<NonNullable<AuthorizationRuleSpec['from']>[number]['source']>;
type OperationSpec = NonNullable<NonNullable<AuthorizationRuleSpec['to']>[number]['operation']>;

function translateRule(rule: AuthorizationRuleSpec, path: PathSegment[], c: PolicyCursor): AuthzRule {
  const from: AuthzClause[] = [];
  const to: AuthzClause[] = [];
  const when: AuthzField[] = [];
  // Istio's validation refuses an empty `from`/`to`, but a YAML `[]` reaches it as an unset list
  // (protobuf has no empty-but-set repeated field): it matches everything, as if left out.
  if (rule.from !== undefined && rule.from.length === 0) warn(c, [...path, 'from'], '`from: []` is the same as no `from`: any source matches');
  (rule.from ?? []).forEach((f, j) => {
    const at = [...path, 'from', j];
    if (f.source === undefined) issue(c, 'missing_field', [...at, 'source'], '`from` needs a source');
    else from.push(translateSource(f.source, [...at, 'source'], c));
  });
  if (rule.to !== undefined && rule.to.length === 0) warn(c, [...path, 'to'], '`to: []` is the same as no `to`: any operation matches');
  (rule.to ?? []).forEach((t, j) => {
    const at = [...path, 'to', j];
    if (t.operation === undefined) issue(c, 'missing_field', [...at, 'operation'], '`to` needs an operation');
    else to.push(translateOperation(t.operation, [...at, 'operation'], c));
  });
  (rule.when ?? []).forEach((cond, k) => {
    const field = translateCondition(cond, [...path, 'when', k], c);
    if (field !== null) when.push(field);
  });
  return { from, to, when };
}

/** Values of one list field → model values; each bad value a located issue. */
function values(list: readonly string[] | undefined, path: PathSegment[], parse: (raw: string, at: PathSegment[]) => Parsed<AuthzValue>, c: PolicyCursor): AuthzValue[] {
  const out: AuthzValue[] = [];
  (list ?? []).forEach((raw, i) => {
    const at = [...path, i];
    if (raw === '') {
      issue(c, 'invalid_value', at, 'empty value not allowed');
      return;
    }
    const p = parse(raw, at);
    if (p.ok) out.push(p.value);
    else issue(c, 'invalid_value', at, p.reason);
  });
  return out;
}

/** A string form; a `*` inside the value matches literally (as in Istio), which is worth a word. */
function literal(c: PolicyCursor, what: string) {
  return (raw: string, at: PathSegment[]): Parsed<AuthzValue> => {
    if (hasInnerWildcard(raw)) warn(c, at, `${JSON.stringify(raw)}: a "*" is a wildcard only at the start or end of ${what}; here it matches a literal "*"`);
    return { ok: true, value: stringValue(raw) };
  };
}

function field(attribute: AuthzAttribute, vals: AuthzValue[], notVals: AuthzValue[], key?: string[]): AuthzField {
  return key === undefined ? { attribute, values: vals, notValues: notVals } : { attribute, key, values: vals, notValues: notVals };
}

const SOURCE_LISTS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
/** Source fields Istio does not support with CUSTOM (the ext_authz filter runs before identity is known to it). */
const NOT_WITH_CUSTOM = new Set<string>(['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts']);

/** One source: all its fields must match. Istio's order: principals, requestPrincipals, serviceAccounts, namespaces, remoteIpBlocks, ipBlocks. */
function translateSource(s: SourceSpec, path: PathSegment[], c: PolicyCursor): AuthzClause {
  const set = SOURCE_LISTS.filter((k) => (s[k] ?? []).length > 0);
  if (set.length === 0) issue(c, 'invalid_value', path, '`source` must not be empty: give at least one of principals, requestPrincipals, namespaces, serviceAccounts, ipBlocks, remoteIpBlocks or a not… form');
  if (c.action === 'CUSTOM') for (const k of set) if (NOT_WITH_CUSTOM.has(k)) issue(c, 'invalid_value', [...path, k], `${k} is not supported with action CUSTOM (as in Istio)`);
  const identity = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((k) => set.includes(k as (typeof SOURCE_LISTS)[number]));
  if (identity && (set.includes('serviceAccounts') || set.includes('notServiceAccounts'))) issue(c, 'invalid_value', [...path, set.includes('serviceAccounts') ? 'serviceAccounts' : 'notServiceAccounts'], 'serviceAccounts cannot be set with namespaces or principals (as in Istio)');
  const out: AuthzClause[number][] = [];
  const add = (attribute: AuthzAttribute, valuesKey: (typeof SOURCE_LISTS)[number], notKey: (typeof SOURCE_LISTS)[number], parse: (raw: string, at: PathSegment[]) => Parsed<AuthzValue>): void => {
    const v = values(s[valuesKey], [...path, valuesKey], parse, c);
    const n = values(s[notKey], [...path, notKey], parse, c);
    if (v.length + n.length > 0) out.push(field(attribute, v, n));
  };
  add('source.principal', 'principals', 'notPrincipals', principalParser(c));
  add('request.auth.principal', 'requestPrincipals', 'notRequestPrincipals', literal(c, 'a request principal'));
  if (checkServiceAccounts(s.serviceAccounts, [...path, 'serviceAccounts'], c) && checkServiceAccounts(s.notServiceAccounts, [...path, 'notServiceAccounts'], c)) {
    add('source.principal', 'serviceAccounts', 'notServiceAccounts', serviceAccountParser(c));
  }
  add('source.namespace', 'namespaces', 'notNamespaces', namespaceParser());
  add('remote.ip', 'remoteIpBlocks', 'notRemoteIpBlocks', (raw) => cidrValue(raw));
  add('source.ip', 'ipBlocks', 'notIpBlocks', (raw) => cidrValue(raw));
  return out;
}

const OPERATION_LISTS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

/** One operation: all its fields must match. Istio's order: hosts, methods, paths, ports. */
function translateOperation(o: OperationSpec, path: PathSegment[], c: PolicyCursor): AuthzClause {
  if (!OPERATION_LISTS.some((k) => (o[k] ?? []).length > 0)) issue(c, 'invalid_value', path, '`operation` must not be empty: give at least one of hosts, ports, methods, paths or a not… form');
  const out: AuthzField[] = [];
  const add = (attribute: AuthzAttribute, valuesKey: (typeof OPERATION_LISTS)[number], notKey: (typeof OPERATION_LISTS)[number], parse: (raw: string, at: PathSegment[]) => Parsed<AuthzValue>): void => {
    const v = values(o[valuesKey], [...path, valuesKey], parse, c);
    const n = values(o[notKey], [...path, notKey], parse, c);
    if (v.length + n.length > 0) out.push(field(attribute, v, n));
  };
  add('request.host', 'hosts', 'notHosts', literal(c, 'a host'));
  add('request.method', 'methods', 'notMethods', (raw, at) => {
    // Methods compare case-sensitively (the :method header), so `get` never matches a GET.
    if (raw !== raw.toUpperCase()) warn(c, at, `method ${JSON.stringify(raw)} is compared case-sensitively; requests send ${JSON.stringify(raw.toUpperCase())}`);
    return literal(c, 'a method')(raw, at);
  });
  add('request.path', 'paths', 'notPaths', (raw, at) => {
    const p = pathValue(raw);
    if (p.ok && p.value.kind !== 'template' && hasInnerWildcard(raw)) literal(c, 'a path')(raw, at);
    return p;
  });
  add('destination.port', 'ports', 'notPorts', (raw) => portValue(raw));
  return out;
}

/** principals: Istio's trust-domain handling, then a string form. */
function principalParser(c: PolicyCursor) {
  return (raw: string, at: PathSegment[]): Parsed<AuthzValue> => {
    if (raw.startsWith('spiffe://')) warn(c, at, `principals are written without "spiffe://" (${JSON.stringify(raw.slice('spiffe://'.length))}); as written this value never matches`);
    return literal(c, 'a principal')(withTrustDomain(raw, c), at);
  };
}

/**
 * Istio's trustdomain.Bundle.ReplaceTrustDomainAliases with no aliases: a principal of the form
 * `<td>/ns/<ns>/sa/<sa>` whose trust domain is `cluster.local` or the mesh's takes the mesh's;
 * another trust domain is kept as written (and never matches this mesh's identities).
 */
function withTrustDomain(raw: string, c: PolicyCursor): string {
  const parts = raw.split('/');
  if (parts.length !== 5 || parts[0] === '*') return raw;
  const td = c.ctx.proxy.trustDomain;
  if (parts[0] === DEFAULT_TRUST_DOMAIN || parts[0] === td) return [td, ...parts.slice(1)].join('/');
  return raw;
}

/**
 * namespaces: the namespace in the peer's SPIFFE ID. Istio turns each `*` into `.*` of a regex;
 * the model has the forms `*`, `x*`, `*x` and exact, which cover every value with one `*` at an
 * end. Other globs are refused rather than matched differently.
 */
function namespaceParser() {
  return (raw: string): Parsed<AuthzValue> => {
    if (hasInnerWildcard(raw) || (raw.length > 1 && raw.startsWith('*') && raw.endsWith('*'))) {
      return { ok: false, reason: `namespace ${JSON.stringify(raw)}: wasmesh supports "*" only as the whole value, its first or its last character` };
    }
    return { ok: true, value: stringValue(raw) };
  };
}

/** Istio's CheckServiceAccount: at most 16 values, `sa` or `ns/sa`, no wildcard, ≤ 320 characters. */
function checkServiceAccounts(list: readonly string[] | undefined, path: PathSegment[], c: PolicyCursor): boolean {
  if (list === undefined) return true;
  const before = c.issues.length;
  if (list.length > 16) issue(c, 'invalid_value', path, `at most 16 service accounts, got ${list.length}`);
  list.forEach((v, i) => {
    const at = [...path, i];
    if (v === '') return; // reported as an empty value
    const slashes = v.split('/').length - 1;
    if (v.includes('*')) issue(c, 'invalid_value', at, `wildcards are not allowed in service accounts (${JSON.stringify(v)})`);
    else if (slashes > 1 || v.startsWith('/') || v.endsWith('/')) issue(c, 'invalid_value', at, `expected "serviceAccount" or "namespace/serviceAccount", got ${JSON.stringify(v)}`);
    else if (v.length > 320) issue(c, 'invalid_value', at, 'a service account is at most 320 characters');
  });
  return c.issues.length === before;
}

/**
 * serviceAccounts (`sa`, the policy's namespace, or `ns/sa`): Istio matches the peer's SPIFFE
 * ID against `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?`; the model's principal ending
 * `/ns/<ns>/sa/<sa>` is that for every identity a mesh CA issues (`<td>/ns/<ns>/sa/<sa>`).
 */
function serviceAccountParser(c: PolicyCursor) {
  return (raw: string): Parsed<AuthzValue> => {
    const slash = raw.indexOf('/');
    const ns = slash < 0 ? c.namespace : raw.slice(0, slash);
    const sa = slash < 0 ? raw : raw.slice(slash + 1);
    return { ok: true, value: { kind: 'suffix', value: `/ns/${ns}/sa/${sa}` } };
  };
}

// ---- when -------------------------------------------------------------------------------------

type ConditionSpec = NonNullable<AuthorizationRuleSpec['when']>[number];

/** Keys Istio rejects with a reason of their own. */
const RETIRED_KEYS: Record<string, string> = {
  'destination.namespace': 'destination.namespace is replaced by the policy\'s metadata.namespace',
  'destination.name': 'destination.name was only supported in v1alpha1',
  'destination.user': 'destination.user was only supported in v1alpha1',
};

const WHEN_KEYS = 'request.headers[…], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, source.trustDomain, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[…], destination.ip, destination.port, connection.sni';

/** Keys whose peer identity CUSTOM cannot see (Istio's validation). */
function notWithCustom(key: string): boolean {
  return ['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(key) || key.startsWith('request.auth.');
}

function translateCondition(cond: ConditionSpec, path: PathSegment[], c: PolicyCursor): AuthzField | null {
  const key = cond.key;
  const keyPath = [...path, 'key'];
  if (key === '') {
    issue(c, 'invalid_value', keyPath, '`key` must not be empty');
    return null;
  }
  if ((cond.values ?? []).length === 0 && (cond.notValues ?? []).length === 0) {
    issue(c, 'missing_field', path, `at least one of values or notValues must be set for key ${key}`);
    return null;
  }
  if (c.action === 'CUSTOM' && notWithCustom(key)) {
    issue(c, 'invalid_value', keyPath, `${key} is not supported with action CUSTOM (as in Istio)`);
    return null;
  }
  const both = (attribute: AuthzAttribute, parse: (raw: string, at: PathSegment[]) => Parsed<AuthzValue>, k?: string[]): AuthzField =>
    field(attribute, values(cond.values, [...path, 'values'], parse, c), values(cond.notValues, [...path, 'notValues'], parse, c), k);
  const cidr = (raw: string): Parsed<AuthzValue> => cidrValue(raw);
  switch (key) {
    case 'source.ip':
      return both('source.ip', cidr);
    case 'remote.ip':
      return both('remote.ip', cidr);
    case 'destination.ip':
      return both('destination.ip', cidr);
    case 'destination.port':
      return both('destination.port', (raw) => portValue(raw));
    case 'source.namespace':
      return both('source.namespace', namespaceParser());
    case 'source.principal':
      return both('source.principal', principalParser(c));
    case 'source.serviceAccount':
      if (!checkServiceAccounts(cond.values, [...path, 'values'], c) || !checkServiceAccounts(cond.notValues, [...path, 'notValues'], c)) return null;
      return both('source.principal', serviceAccountParser(c));
    case 'source.trustDomain':
      return both('source.principal', trustDomainParser());
    case 'request.auth.principal':
      return both('request.auth.principal', literal(c, 'a request principal'));
    case 'request.auth.audiences':
      return both('request.auth.audiences', literal(c, 'an audience'));
    case 'request.auth.presenter':
      return both('request.auth.presenter', literal(c, 'a presenter'));
    case 'connection.sni':
      return both('connection.sni', literal(c, 'a server name'));
  }
  if (key.startsWith('request.headers')) {
    const k = headerKey(key.slice('request.headers'.length));
    if (!k.ok) return (issue(c, 'invalid_value', keyPath, `${JSON.stringify(key)}: ${k.reason}`), null);
    return both('request.headers', literal(c, 'a header value'), k.value);
  }
  if (key.startsWith('request.auth.claims')) {
    const k = claimKey(key.slice('request.auth.claims'.length));
    if (!k.ok) return (issue(c, 'invalid_value', keyPath, `${JSON.stringify(key)}: ${k.reason}`), null);
    return both('request.auth.claims', literal(c, 'a claim value'), k.value);
  }
  if (key.startsWith('experimental.envoy.filters.')) {
    issue(c, 'unsupported_field', keyPath, `${key}: Envoy filter metadata (an experimental Istio attribute) is not available to wasmesh's authorization`);
    return null;
  }
  const retired = RETIRED_KEYS[key] ?? (key.startsWith('destination.labels') ? 'destination.labels is replaced by the workload selector' : undefined);
  issue(c, 'invalid_value', keyPath, retired ?? `unknown attribute ${JSON.stringify(key)} (known: ${WHEN_KEYS})`);
  return null;
}

/**
 * source.trustDomain: Istio's CheckTrustDomainValues (no `/`), then `*` any SPIFFE peer and a
 * name the principals that start `<td>/`. Istio's partial wildcards (`*.example.com`, a regex on
 * the trust domain alone) are refused rather than approximated.
 */
function trustDomainParser() {
  return (raw: string): Parsed<AuthzValue> => {
    if (raw === '*') return { ok: true, value: { kind: 'presence' } };
    if (raw.includes('/')) return { ok: false, reason: `a trust domain must not contain "/" (${JSON.stringify(raw)})` };
    if (raw.includes('*')) return { ok: false, reason: `trust domain ${JSON.stringify(raw)}: wasmesh supports "*" only as the whole value` };
    return { ok: true, value: { kind: 'prefix', value: `${raw}/` } };
  };
}

// ---- what Istio's analyzers would say for this proxy ------------------------------------------

function usesAttribute(policy: AuthzPolicy, test: (f: AuthzField) => boolean): boolean {
  return policy.rules.some((r) => [...r.from.flat(), ...r.to.flat(), ...r.when].some(test));
}

function requestAuthenticationApplies(resources: readonly SourcedResource[], ctx: AuthzContext): boolean {
  const root = ctx.settings.rootNamespace;
  return resources.some((r) => {
    if (r.resource.kind !== 'RequestAuthentication') return false;
    if (r.resource.namespace !== root && r.resource.namespace !== ctx.proxy.namespace) return false;
    const spec = r.resource.spec as RequestAuthenticationSpec;
    return (spec.targetRefs ?? []).length === 0 && spec.targetRef === undefined && selected(spec.selector?.matchLabels, ctx.proxy.labels);
  });
}

function proxyWarnings(r: SourcedResource, policy: AuthzPolicy, resources: readonly SourcedResource[], ctx: AuthzContext): void {
  const rulesPath: PathSegment[] = ['spec', 'rules'];
  if (!ctx.proxy.peerIdentity && usesAttribute(policy, (f) => f.attribute === 'source.principal' || f.attribute === 'source.namespace')) {
    ctx.warnings.push(warningAt(r.ref, rulesPath, 'principals, namespaces and service accounts compare with the caller\'s mTLS identity, and callers of this proxy present none (no workload identity, or an inbound without mTLS): their values never match, their not… forms always do'));
  }
  if (usesAttribute(policy, (f) => f.attribute.startsWith('request.auth.')) && !requestAuthenticationApplies(resources, ctx)) {
    ctx.warnings.push(warningAt(r.ref, rulesPath, 'requestPrincipals and request.auth.* compare with a JWT that a RequestAuthentication verified, and none applies to this proxy: their values never match, their not… forms always do'));
  }
}
