// AuthorizationPolicy on an Envoy sidecar's inbound TCP chains (the passthrough to undeclared
// ports): Envoy's RBAC *network* filter, as istiod's authz builder writes it for TCP
// (BuildTCP, stat_prefix `tcp.`), before tcp_proxy — the same decisions as the wasmesh sidecar's
// RBAC network filter (host/listener/tcp/rbac-network-filter.ts over assembly/authz's
// connection evaluation), so both planes agree. Istio's TCP build (pilot/pkg/security/authz/
// model: rule.checkError) of the HTTP-only fields (request.auth.*, request.headers, hosts,
// methods, paths): an ALLOW rule holding one anywhere is skipped (it allows nothing), a DENY or
// AUDIT rule drops the field (it matches more). CUSTOM: Istio asks the provider through an
// ext_authz network filter; the wasmesh sidecar has no TCP ext_authz client and denies what a
// CUSTOM policy matches (its HTTP-only fields dropped), and so does this translation, with a
// DENY filter of its own first (policies named `istio-ext-authz-<provider>-…`).
import type { AuthzAttribute, AuthzField, AuthzPolicy, AuthzRule } from '../model/authorization.js';
import type { Obj } from './istio-resources.js';
import { DRY_RUN_ALLOW_PREFIX, DRY_RUN_DENY_PREFIX, MATCH_NEVER, rbacPolicyName, rulePolicy, type EnvoyAction } from './rbac-policy.js';

export const RBAC_NETWORK_FILTER_NAME = 'envoy.filters.network.rbac';
export const RBAC_NETWORK_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
/** Istio's RBACTCPFilterStatPrefix: the network filter's stats are `tcp.rbac.*`. */
export const RBAC_TCP_STAT_PREFIX = 'tcp.';

const HTTP_ONLY = new Set<AuthzAttribute>([
  'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'request.auth.claims',
  'request.headers', 'request.host', 'request.method', 'request.path',
]);
const httpOnly = (f: AuthzField): boolean => HTTP_ONLY.has(f.attribute);

/** Does the rule read an HTTP-only attribute anywhere (sources, operations, conditions)? */
function readsHttp(r: AuthzRule): boolean {
  return r.from.some((c) => c.some(httpOnly)) || r.to.some((c) => c.some(httpOnly)) || r.when.some(httpOnly);
}

/** The rule with its HTTP-only fields dropped (a clause left empty matches anything). */
function withoutHttp(r: AuthzRule): AuthzRule {
  return { from: r.from.map((c) => c.filter((f) => !httpOnly(f))), to: r.to.map((c) => c.filter((f) => !httpOnly(f))), when: r.when.filter((f) => !httpOnly(f)) };
}

/** Istio's TCP RBAC of `policies` under `action`: rule i keeps its name; ALLOW rules reading HTTP are left out. */
function tcpRbac(action: EnvoyAction, policies: readonly AuthzPolicy[], prefix = ''): Obj {
  const out: Record<string, Obj> = {};
  for (const p of policies) {
    if (p.rules.length === 0) out[prefix + rbacPolicyName(p, 0)] = MATCH_NEVER;
    p.rules.forEach((r, i) => {
      if (action === 'ALLOW' && readsHttp(r)) return;
      out[prefix + rbacPolicyName(p, i)] = rulePolicy(withoutHttp(r));
    });
  }
  return { action, policies: out };
}

function filter(config: Obj): Obj {
  return { name: RBAC_NETWORK_FILTER_NAME, typed_config: { '@type': RBAC_NETWORK_TYPE, stat_prefix: RBAC_TCP_STAT_PREFIX, ...config } };
}

/** The RBAC network filters for `policies`, in chain order (CUSTOM as DENY, AUDIT, DENY, ALLOW); none without policies. */
export function envoyRbacNetworkFilters(policies: readonly AuthzPolicy[] | undefined): Obj[] {
  const list = policies ?? [];
  const out: Obj[] = [];
  const custom = list.filter((p) => p.action === 'CUSTOM' && !p.dryRun);
  if (custom.length > 0) {
    const rules: Record<string, Obj> = {};
    for (const p of custom) Object.assign(rules, (tcpRbac('DENY', [p], `istio-ext-authz-${p.provider ?? ''}-`).policies as Record<string, Obj>));
    out.push(filter({ rules: { action: 'DENY', policies: rules } }));
  }
  for (const [model, envoy] of [['AUDIT', 'LOG'], ['DENY', 'DENY'], ['ALLOW', 'ALLOW']] as const) {
    const of = list.filter((p) => p.action === model);
    if (of.length === 0) continue;
    const enforced = of.filter((p) => !p.dryRun);
    const shadow = of.filter((p) => p.dryRun);
    const config: Obj = {};
    if (enforced.length > 0) config.rules = tcpRbac(envoy, enforced);
    if (shadow.length > 0) {
      config.shadow_rules = tcpRbac(envoy, shadow);
      const prefix = envoy === 'ALLOW' ? DRY_RUN_ALLOW_PREFIX : envoy === 'DENY' ? DRY_RUN_DENY_PREFIX : '';
      if (prefix !== '') config.shadow_rules_stat_prefix = prefix;
    }
    out.push(filter(config));
  }
  return out;
}
