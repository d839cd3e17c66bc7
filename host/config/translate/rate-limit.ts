// RateLimitPolicy resources → the rate limits one proxy enforces (host/model/rate-limit.ts).
// Scope as Istio scopes its workload policies: a policy in the root namespace applies mesh-wide,
// elsewhere only to proxies of its namespace; a selector narrows either to workloads whose
// labels include every pair. Every policy is checked whichever proxy loads it (the files are
// shared), so a route reference to a VirtualService or rule that does not exist is a located
// error everywhere. Rules with a route go to those routes (each route its own buckets, as each
// of Envoy's per-route configs has); the others apply to every request.
import type { ConfigIssue } from '../config-error.js';
import { issueAt } from '../issue-location.js';
import type { LoadOptions } from '../loaded-config.js';
import { DEFAULT_NAMESPACE } from '../loaded-config.js';
import type { SourcedResource } from '../read-resource.js';
import type { VirtualServiceSpec } from '../istio-schemas.js';
import type { DescriptorEntrySpec, RateLimitPolicySpec, RouteRefSpec } from '../rate-limit-schema.js';
import { nearestName } from '../nearest-name.js';
import { parseDuration } from '../../common/duration.js';
import { parseHostPort } from '../../common/host-port.js';
import type { Route } from '../../model/mesh.js';
import {
  DEFAULT_MAX_DYNAMIC_DESCRIPTORS,
  DEFAULT_RLS_TIMEOUT_MS,
  DESCRIPTOR_KEYS,
  type DescriptorSource,
  type GlobalRateLimitRule,
  type LocalRateLimitRule,
  type RateLimitConfig,
  type RateLimitService,
  type RouteGlobalRule,
  type RouteRateLimits,
} from '../../model/rate-limit.js';

export interface RateLimitInput {
  readonly resources: readonly SourcedResource[];
  readonly options: LoadOptions;
  readonly rootNamespace: string;
  readonly issues: ConfigIssue[];
}

/** The routes one policy rule names: `<ns>/<vs>/` and, with a rule name, that route only. */
interface RouteSelector {
  readonly prefix: string;
  readonly exact: string | null;
}

interface PendingRouteRule {
  readonly selector: RouteSelector;
  readonly local?: LocalRateLimitRule;
  readonly global?: RouteGlobalRule;
}

function descriptorOf(entries: readonly DescriptorEntrySpec[] | undefined): DescriptorSource[] {
  return (entries ?? []).map((e): DescriptorSource => {
    if (e.requestHeader) return { kind: 'requestHeader', header: e.requestHeader.name.toLowerCase(), key: e.requestHeader.descriptorKey ?? e.requestHeader.name.toLowerCase() };
    if (e.remoteAddress) return { kind: 'remoteAddress', key: e.remoteAddress.descriptorKey ?? DESCRIPTOR_KEYS.remoteAddress };
    if (e.sourcePrincipal) return { kind: 'sourcePrincipal', key: e.sourcePrincipal.descriptorKey ?? DESCRIPTOR_KEYS.sourcePrincipal };
    if (e.path) return { kind: 'path', key: e.path.descriptorKey ?? DESCRIPTOR_KEYS.path };
    const g = e.genericKey!;
    return { kind: 'genericKey', key: g.descriptorKey ?? DESCRIPTOR_KEYS.genericKey, value: g.value };
  });
}

/** Whether `policy` selects a proxy of `namespace` with `labels`. */
export function policyApplies(policy: SourcedResource, namespace: string, labels: Readonly<Record<string, string>>, rootNamespace: string): boolean {
  if (policy.resource.namespace !== rootNamespace && policy.resource.namespace !== namespace) return false;
  const want = (policy.resource.spec as RateLimitPolicySpec).selector?.matchLabels ?? {};
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/**
 * Checks a route reference against the loaded VirtualServices (an issue, with the nearest
 * name, when the VirtualService or its rule does not exist); the routes it selects, or null.
 */
function resolveRouteRef(ref: RouteRefSpec, policy: SourcedResource, path: Array<string | number>, virtualServices: readonly SourcedResource[], issues: ConfigIssue[]): RouteSelector | null {
  const slash = ref.virtualService.indexOf('/');
  const ns = slash < 0 ? policy.resource.namespace : ref.virtualService.slice(0, slash);
  const name = slash < 0 ? ref.virtualService : ref.virtualService.slice(slash + 1);
  const vs = virtualServices.find((v) => v.resource.namespace === ns && v.resource.name === name);
  if (vs === undefined) {
    const inNs = virtualServices.filter((v) => v.resource.namespace === ns).map((v) => v.resource.name);
    const near = nearestName(name, inNs);
    issues.push(issueAt(policy.ref, 'invalid_value', [...path, 'virtualService'], `no VirtualService ${ns}/${name} in the loaded files${near !== null ? ` (did you mean ${near}?)` : inNs.length > 0 ? ` (${ns} has ${inNs.join(', ')})` : ''}`));
    return null;
  }
  const prefix = `${ns}/${name}/`;
  if (ref.name === undefined) return { prefix, exact: null };
  const rules = ((vs.resource.spec as VirtualServiceSpec).http ?? []).map((r) => r.name).filter((n): n is string => n !== undefined);
  if (!rules.includes(ref.name)) {
    const near = nearestName(ref.name, rules);
    issues.push(issueAt(policy.ref, 'invalid_value', [...path, 'name'], `VirtualService ${ns}/${name} has no http route named "${ref.name}"${near !== null ? ` (did you mean ${near}?)` : rules.length > 0 ? ` (named routes: ${rules.join(', ')})` : ' (its http routes have no names)'}`));
    return null;
  }
  return { prefix, exact: prefix + ref.name };
}

function selects(s: RouteSelector, routeName: string): boolean {
  return s.exact !== null ? routeName === s.exact : routeName.startsWith(s.prefix);
}

/**
 * Reads every RateLimitPolicy (issues for bad references), keeps those that select this proxy,
 * and returns what applies to every request; per-route rules are set on `routes`
 * (Route.rateLimit). Null when no policy applies (no filter is built then).
 */
export function resolveRateLimits(input: RateLimitInput, routes: readonly Route[], sink?: { inbound: RateLimitConfig | null }): RateLimitConfig | null {
  const { resources, options, rootNamespace, issues } = input;
  // The listener kind this load is for: a gateway's, or a mesh proxy's outbound (a sidecar's
  // inbound rules go to `sink`, which the sidecar runtime hands to its inbound listener).
  const isGateway = options.gateway !== undefined;
  const inboundLocal: LocalRateLimitRule[] = [];
  const inboundServices: RateLimitService[] = [];
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const labels = options.labels ?? {};
  const virtualServices = resources.filter((r) => r.resource.kind === 'VirtualService');
  const local: LocalRateLimitRule[] = [];
  const services: RateLimitService[] = [];
  const perRoute: PendingRouteRule[] = [];
  for (const policy of resources) {
    if (policy.resource.kind !== 'RateLimitPolicy') continue;
    const spec = policy.resource.spec as RateLimitPolicySpec;
    const id = `${policy.resource.namespace}/${policy.resource.name}`;
    const selected = policyApplies(policy, namespace, labels, rootNamespace);
    const context = spec.context;
    const applies = selected && (context === undefined || context === 'ANY' || context === (isGateway ? 'GATEWAY' : 'SIDECAR_OUTBOUND'));
    const appliesInbound = selected && !isGateway && (context === 'SIDECAR_INBOUND' || context === 'ANY');
    // The inbound listener's routes are generated from the app ports, not VirtualService routes.
    const inboundOnly = context === 'SIDECAR_INBOUND';
    const seen = new Set<string>();
    const ruleName = (section: string, name: string | undefined, i: number, path: Array<string | number>): string => {
      const n = name ?? String(i);
      if (seen.has(`${section}/${n}`)) issues.push(issueAt(policy.ref, 'invalid_value', [...path, 'name'], `rule name "${n}" is used twice in ${section}`));
      seen.add(`${section}/${n}`);
      return `${id}/${section}/${n}`;
    };
    if (spec.local) {
      const l = spec.local;
      l.rules.forEach((rule, i) => {
        const path = ['spec', 'local', 'rules', i];
        const name = ruleName('local', rule.name, i, path);
        const ms = parseDuration(rule.tokenBucket.fillInterval);
        if (inboundOnly && rule.route) issues.push(issueAt(policy.ref, 'invalid_value', [...path, 'route'], 'a SIDECAR_INBOUND policy applies to every request of the workload: its inbound routes are not VirtualService routes'));
        const selector = rule.route && !inboundOnly ? resolveRouteRef(rule.route, policy, [...path, 'route'], virtualServices, issues) : null;
        if (!(applies || appliesInbound) || !ms.ok || (rule.route && selector === null)) return;
        const built: LocalRateLimitRule = {
          name,
          bucket: { maxTokens: rule.tokenBucket.maxTokens, tokensPerFill: rule.tokenBucket.tokensPerFill ?? 1, fillIntervalMs: ms.ms },
          descriptor: descriptorOf(rule.descriptor),
          maxDynamicDescriptors: l.maxDynamicDescriptors ?? DEFAULT_MAX_DYNAMIC_DESCRIPTORS,
          responseHeaders: (l.responseHeaders ?? 'DRAFT_VERSION_03') !== 'OFF',
        };
        if (appliesInbound && !rule.route) inboundLocal.push(built);
        if (!applies) return;
        if (selector === null) local.push(built);
        else perRoute.push({ selector, local: built });
      });
    }
    if (spec.global) {
      const g = spec.global;
      const rules: GlobalRateLimitRule[] = [];
      const pending: Array<{ selector: RouteSelector; rule: GlobalRateLimitRule }> = [];
      let ok = true;
      g.rules.forEach((rule, i) => {
        const path = ['spec', 'global', 'rules', i];
        const built: GlobalRateLimitRule = { name: ruleName('global', rule.name, i, path), descriptor: descriptorOf(rule.descriptor) };
        if (!rule.route) return void rules.push(built);
        if (inboundOnly) {
          issues.push(issueAt(policy.ref, 'invalid_value', [...path, 'route'], 'a SIDECAR_INBOUND policy applies to every request of the workload: its inbound routes are not VirtualService routes'));
          ok = false;
          return;
        }
        const selector = resolveRouteRef(rule.route, policy, [...path, 'route'], virtualServices, issues);
        if (selector === null) ok = false;
        else pending.push({ selector, rule: built });
      });
      const timeout = g.timeout === undefined ? null : parseDuration(g.timeout);
      if (!(applies || appliesInbound) || !ok || (timeout !== null && !timeout.ok)) continue;
      const hp = parseHostPort(g.service);
      const service: RateLimitService = {
        policy: id,
        host: hp.host,
        port: hp.port,
        domain: g.domain,
        timeoutMs: timeout !== null && timeout.ok ? timeout.ms : DEFAULT_RLS_TIMEOUT_MS,
        failureModeDeny: g.failureModeDeny ?? false,
        responseHeaders: (g.responseHeaders ?? 'DRAFT_VERSION_03') !== 'OFF',
        rules,
      };
      if (appliesInbound && rules.length > 0) inboundServices.push(service);
      if (!applies) continue;
      services.push(service);
      for (const p of pending) perRoute.push({ selector: p.selector, global: { service, rule: p.rule } });
    }
  }
  if (perRoute.length > 0 || services.length > 0) {
    for (const route of routes) {
      const mine = perRoute.filter((p) => selects(p.selector, route.name));
      const global: RouteGlobalRule[] = [];
      // Each service's proxy-wide descriptors, then the route's own for it (Envoy's vhost, then route rate_limits).
      for (const service of services) {
        for (const rule of service.rules) global.push({ service, rule });
        for (const p of mine) if (p.global?.service === service) global.push(p.global);
      }
      if (mine.length === 0 && global.length === 0) continue;
      const rl: RouteRateLimits = {
        // Each route its own buckets (Envoy builds one limiter per route's config).
        local: mine.filter((p) => p.local).map((p) => ({ ...p.local!, name: `${p.local!.name}@${route.name}` })),
        global,
      };
      route.rateLimit = rl;
    }
  }
  if (sink !== undefined) sink.inbound = inboundLocal.length === 0 && inboundServices.length === 0 ? null : { local: inboundLocal, services: inboundServices };
  if (local.length === 0 && services.length === 0 && perRoute.length === 0) return null;
  return { local, services };
}
