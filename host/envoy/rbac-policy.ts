// The AuthorizationPolicies one proxy enforces (host/model/authorization.ts) as Envoy's native
// RBAC HTTP filters, the way istiod's authz builder (pilot/pkg/security/authz/builder) writes
// them, so stock Envoy allows and denies what a wasmesh proxy does:
// - one `envoy.filters.http.rbac` per action present, in Istio's order AUDIT (action LOG), DENY,
//   ALLOW; each policy's rule i is the Envoy policy `ns[<ns>]-policy[<name>]-rule[<i>]`, a policy
//   without rules the never-matching `-rule[0]`; dry-run policies go to shadow_rules with
//   shadow_rules_stat_prefix istio_dry_run_allow_ / istio_dry_run_deny_.
// - a rule's sources become Envoy principals (or_ids of its `from`, each and_ids of its fields
//   plus the `when` conditions on the caller), its operations permissions (the same with the
//   conditions on the destination); values OR, not… forms a not over their OR.
// - principals: the peer's authenticated principal_name `spiffe://…`; namespaces a regex on it
//   (`.*/ns/<ns>/.*`); requestPrincipals, audiences, presenter and claims the jwt_authn filter's
//   payload (`payload_in_metadata: payload`, as Istio's jwt_authn providers write it); hosts
//   `:authority` ignoring case; paths url_path, templates the uri_template matcher; ports
//   destination_port; ipBlocks direct_remote_ip; remoteIpBlocks remote_ip.
// CUSTOM (ext_authz to a meshConfig provider) is ext-authz-filter.ts; authorization-filters.ts
// puts CUSTOM and these in Istio's order.
import type { AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../model/authorization.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import type { Obj } from './istio-resources.js';

export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';
export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const URI_TEMPLATE_TYPE = 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';
/** Where Envoy's jwt_authn filter puts a verified token's payload (Istio's EnvoyJwtFilterName / EnvoyJwtFilterPayload). */
export const JWT_FILTER_NAME = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD_KEY = 'payload';
export const DRY_RUN_ALLOW_PREFIX = 'istio_dry_run_allow_';
export const DRY_RUN_DENY_PREFIX = 'istio_dry_run_deny_';

export type EnvoyAction = 'LOG' | 'DENY' | 'ALLOW';
const ORDER: Array<{ model: 'AUDIT' | 'DENY' | 'ALLOW'; envoy: EnvoyAction }> = [
  { model: 'AUDIT', envoy: 'LOG' },
  { model: 'DENY', envoy: 'DENY' },
  { model: 'ALLOW', envoy: 'ALLOW' },
];

/** Istio's rbacPolicyMatchNever: what a policy without rules becomes. */
export const MATCH_NEVER: Obj = {
  permissions: [{ not_rule: { any: true } }],
  principals: [{ not_id: { any: true } }],
};

/**
 * The RBAC HTTP filters for `policies`, in the order they go into the filter chain (after
 * jwt_authn, before the router). No policy: no filter.
 */
export function envoyRbacFilters(policies: readonly AuthzPolicy[] | undefined): Obj[] {
  const list = policies ?? [];
  const custom = list.find((p) => p.action === 'CUSTOM');
  if (custom !== undefined) {
    // CUSTOM goes through ext-authz-filter.ts (authorization-filters.ts puts both in order).
    throw new EnvoyConfigError('envoy_config_authz_custom', `AuthorizationPolicy ${custom.name}`, 'action CUSTOM is not an RBAC filter of its own: translate it with envoyAuthorizationFilters');
  }
  const filters: Obj[] = [];
  for (const { model, envoy } of ORDER) {
    const of = list.filter((p) => p.action === model);
    if (of.length === 0) continue;
    const enforced = of.filter((p) => !p.dryRun);
    const shadow = of.filter((p) => p.dryRun);
    const config: Obj = { '@type': RBAC_TYPE };
    if (enforced.length > 0) config.rules = rbac(envoy, enforced);
    if (shadow.length > 0) {
      config.shadow_rules = rbac(envoy, shadow);
      const prefix = envoy === 'ALLOW' ? DRY_RUN_ALLOW_PREFIX : envoy === 'DENY' ? DRY_RUN_DENY_PREFIX : '';
      if (prefix !== '') config.shadow_rules_stat_prefix = prefix;
    }
    filters.push({ name: RBAC_FILTER_NAME, typed_config: config });
  }
  return filters;
}

/** Istio's policy name: `ns[<namespace>]-policy[<name>]-rule[<index>]`. */
export function rbacPolicyName(policy: AuthzPolicy, rule: number): string {
  const slash = policy.name.indexOf('/');
  return `ns[${policy.name.slice(0, slash)}]-policy[${policy.name.slice(slash + 1)}]-rule[${rule}]`;
}

/** An Envoy RBAC (action and named policies); `prefix` goes before each name (CUSTOM's `istio-ext-authz-<provider>-`). */
export function rbac(action: EnvoyAction, policies: readonly AuthzPolicy[], prefix = ''): Obj {
  const out: Record<string, Obj> = {};
  for (const p of policies) {
    if (p.rules.length === 0) out[prefix + rbacPolicyName(p, 0)] = MATCH_NEVER;
    p.rules.forEach((r, i) => (out[prefix + rbacPolicyName(p, i)] = rulePolicy(r)));
  }
  return { action, policies: out };
}

// ---- one rule ---------------------------------------------------------------------------------

/** Conditions Istio puts on the permission side (the destination); the others go with the caller. */
const PERMISSION_ATTRIBUTES = new Set(['request.host', 'request.method', 'request.path', 'destination.port', 'destination.ip', 'connection.sni']);

/** One rule as an Envoy RBAC policy (permissions and principals). */
export function rulePolicy(rule: AuthzRule): Obj {
  const whenPermissions = rule.when.filter((f) => PERMISSION_ATTRIBUTES.has(f.attribute));
  const whenPrincipals = rule.when.filter((f) => !PERMISSION_ATTRIBUTES.has(f.attribute));
  const toClauses = rule.to.length > 0 ? rule.to.map((c) => [...c, ...whenPermissions]) : [whenPermissions];
  const fromClauses = rule.from.length > 0 ? rule.from.map((c) => [...c, ...whenPrincipals]) : [whenPrincipals];
  return {
    permissions: toClauses.map((fields) => ({ and_rules: { rules: fields.length === 0 ? [{ any: true }] : fields.flatMap(permissionsOf) } })),
    principals: fromClauses.map((fields) => ({ and_ids: { ids: fields.length === 0 ? [{ any: true }] : fields.flatMap(principalsOf) } })),
  };
}

/** One field on the permission side: an or_rules of its values, a not_rule over the or of its not-values. */
function permissionsOf(f: AuthzField): Obj[] {
  const one = (v: AuthzValue): Obj => permission(f, v);
  const out: Obj[] = [];
  if (f.values.length > 0) out.push({ or_rules: { rules: f.values.map(one) } });
  if (f.notValues.length > 0) out.push({ not_rule: { or_rules: { rules: f.notValues.map(one) } } });
  return out;
}

function permission(f: AuthzField, v: AuthzValue): Obj {
  switch (f.attribute) {
    case 'request.host':
      return { header: headerMatcher(':authority', v, true) };
    case 'request.method':
      return { header: headerMatcher(':method', v, false) };
    case 'request.path':
      if (v.kind === 'template') {
        // Istio's sanitizePathTemplate: `{*}` → `*`, `{**}` → `**` (Envoy's URI template operators).
        const template = v.value.replaceAll('{**}', '**').replaceAll('{*}', '*');
        return { uri_template: { name: 'uri-template', typed_config: { '@type': URI_TEMPLATE_TYPE, path_template: template } } };
      }
      return { url_path: { path: stringMatcher(v, '') } };
    case 'destination.port':
      return { destination_port: portOf(v, f) };
    case 'destination.ip':
      return { destination_ip: cidrRange(v, f) };
    case 'connection.sni':
      return { requested_server_name: stringMatcher(v, '') };
    default:
      throw unexpected(f, v);
  }
}

/**
 * One field on the principal side. Request-auth attributes (Istio's "extended" generators) take
 * all their values in one metadata matcher; the rest an or_ids of one principal per value.
 */
function principalsOf(f: AuthzField): Obj[] {
  const out: Obj[] = [];
  if (f.attribute === 'request.auth.principal') {
    if (f.values.length > 0) out.push(requestPrincipal(f.values));
    if (f.notValues.length > 0) out.push({ not_id: requestPrincipal(f.notValues) });
    return out;
  }
  if (f.attribute === 'request.auth.audiences' || f.attribute === 'request.auth.presenter' || f.attribute === 'request.auth.claims') {
    const path = f.attribute === 'request.auth.audiences' ? ['aud'] : f.attribute === 'request.auth.presenter' ? ['azp'] : [...(f.key ?? [])];
    if (f.values.length > 0) out.push({ metadata: jwtListMatcher(path, f.values) });
    if (f.notValues.length > 0) out.push({ not_id: { metadata: jwtListMatcher(path, f.notValues) } });
    return out;
  }
  const one = (v: AuthzValue): Obj => principal(f, v);
  if (f.values.length > 0) out.push({ or_ids: { ids: f.values.map(one) } });
  if (f.notValues.length > 0) out.push({ not_id: { or_ids: { ids: f.notValues.map(one) } } });
  return out;
}

function principal(f: AuthzField, v: AuthzValue): Obj {
  switch (f.attribute) {
    case 'source.principal':
      return { authenticated: { principal_name: stringMatcher(v, 'spiffe://') } };
    case 'source.namespace':
      return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${namespaceRegex(v, f)}/.*` } } } };
    case 'source.ip':
      return { direct_remote_ip: cidrRange(v, f) };
    case 'remote.ip':
      return { remote_ip: cidrRange(v, f) };
    case 'request.headers':
      return { header: headerMatcher((f.key ?? [])[0] ?? '', v, false) };
    default:
      throw unexpected(f, v);
  }
}

// ---- matchers ---------------------------------------------------------------------------------

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Istio's StringMatcherWithPrefix: `*` any non-empty value (a regex, whatever the prefix); a
 * suffix under a prefix becomes a regex, as Envoy's suffix matcher would ignore the prefix.
 */
function stringMatcher(v: AuthzValue, prefix: string, ignoreCase = false): Obj {
  const ic = ignoreCase ? { ignore_case: true } : {};
  switch (v.kind) {
    case 'presence':
      return { safe_regex: { regex: '.+' } };
    case 'exact':
      return { exact: prefix + v.value, ...ic };
    case 'prefix':
      return { prefix: prefix + v.value, ...ic };
    case 'suffix':
      return prefix === '' ? { suffix: v.value, ...ic } : { safe_regex: { regex: `${escapeRegex(prefix)}.*${escapeRegex(v.value)}` } };
    default:
      throw new EnvoyConfigError('envoy_config_authz', 'authorization value', `${v.kind} is not a string value`);
  }
}

/** Istio's HeaderMatcher (HostMatcher with ignore_case): `*` present_match, else a string match. */
function headerMatcher(name: string, v: AuthzValue, ignoreCase: boolean): Obj {
  if (v.kind === 'presence') return { name, present_match: true };
  return { name, string_match: stringMatcher(v, '', ignoreCase) };
}

// The namespace part of Istio's regex on the principal (each `*` of the written namespace a `.*`).
function namespaceRegex(v: AuthzValue, f: AuthzField): string {
  switch (v.kind) {
    case 'presence':
      return '.*';
    case 'exact':
      return escapeRegex(v.value);
    case 'prefix':
      return `${escapeRegex(v.value)}.*`;
    case 'suffix':
      return `.*${escapeRegex(v.value)}`;
    default:
      throw unexpected(f, v);
  }
}

function cidrRange(v: AuthzValue, f: AuthzField): Obj {
  if (v.kind !== 'cidr') throw unexpected(f, v);
  return { address_prefix: v.address, prefix_len: v.prefixLength };
}

function portOf(v: AuthzValue, f: AuthzField): number {
  if (v.kind !== 'port') throw unexpected(f, v);
  return v.port;
}

/** A metadata matcher on the jwt_authn payload at `path` (Istio's MetadataMatcherForJWTClaim). */
function jwtMetadata(path: readonly string[], value: Obj): Obj {
  return { filter: JWT_FILTER_NAME, path: [JWT_PAYLOAD_KEY, ...path].map((key) => ({ key })), value };
}

/** Istio's StringOrMatcher: one value's string_match, or an or_match of several. */
function stringOr(values: readonly AuthzValue[]): Obj {
  const matchers = values.map((v) => ({ string_match: stringMatcher(v, '') }));
  return matchers.length === 1 ? matchers[0]! : { or_match: { value_matchers: matchers } };
}

/** Istio's MetadataListValueMatcher with the extended JWT form: a claim that is a list (one of it) or a string. */
function jwtListMatcher(path: readonly string[], values: readonly AuthzValue[]): Obj {
  const value = stringOr(values);
  return jwtMetadata(path, { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } });
}

const ANY_VALUE: Obj = { safe_regex: { regex: '.+' } };

/** The written form of a string value (the model keeps `*` forms parsed). */
function written(v: AuthzValue): string {
  switch (v.kind) {
    case 'presence':
      return '*';
    case 'prefix':
      return `${v.value}*`;
    case 'suffix':
      return `*${v.value}`;
    case 'exact':
      return v.value;
    default:
      return '';
  }
}

/**
 * requestPrincipals (`<iss>/<sub>`) as Istio's requestPrincipalGenerator: split at the last `/`
 * and matched as the payload's `iss` and `sub`, with its wildcard cases.
 */
function requestPrincipal(values: readonly AuthzValue[]): Obj {
  const or = values.map((v) => {
    const value = written(v);
    const idx = value.lastIndexOf('/');
    const found = idx >= 0;
    const iss = found ? value.slice(0, idx) : value;
    const sub = found ? value.slice(idx + 1) : '';
    let matchIss: Obj;
    let matchSub: Obj;
    if (value === '*') {
      matchIss = ANY_VALUE;
      matchSub = ANY_VALUE;
    } else if (value.startsWith('*')) {
      if (found) {
        matchIss = iss === '*' ? ANY_VALUE : { suffix: iss.slice(1) };
        matchSub = { exact: sub };
      } else {
        matchIss = ANY_VALUE;
        matchSub = { suffix: value.slice(1) };
      }
    } else if (value.endsWith('*')) {
      if (found) {
        matchIss = { exact: iss };
        matchSub = sub === '*' ? ANY_VALUE : { prefix: sub.slice(0, -1) };
      } else {
        matchIss = { prefix: value.slice(0, -1) };
        matchSub = ANY_VALUE;
      }
    } else {
      matchIss = { exact: iss };
      matchSub = { exact: sub };
    }
    return { and_ids: { ids: [{ metadata: jwtMetadata(['iss'], { string_match: matchIss }) }, { metadata: jwtMetadata(['sub'], { string_match: matchSub }) }] } };
  });
  return or.length === 1 ? or[0]! : { or_ids: { ids: or } };
}

function unexpected(f: AuthzField, v: AuthzValue): EnvoyConfigError {
  return new EnvoyConfigError('envoy_config_authz', `authorization field ${f.attribute}`, `a ${v.kind} value has no Envoy RBAC form here`);
}
