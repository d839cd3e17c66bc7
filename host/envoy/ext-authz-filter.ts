// AuthorizationPolicy CUSTOM for stock Envoy, the way istiod's authz builder writes it
// (builder.go, extauthz.go): per provider, an RBAC filter whose shadow rules (action DENY,
// policies named `istio-ext-authz-<provider>-ns[…]-policy[…]-rule[…]`, shadow_rules_stat_prefix
// `istio_ext_authz_`) only evaluate and record the matched policy in dynamic metadata, then
// Envoy's ext_authz filter, enabled by that metadata (filter_enabled_metadata), so only requests
// a CUSTOM rule matches are sent to the authorizer. HTTP providers as http_service (server_uri
// `http://<service>` on the provider's outbound cluster, path_prefix, allowed headers), gRPC as
// grpc_service (envoy_grpc to the cluster, the service as authority); timeout (Istio's default
// 600 s), failure_mode_allow (failOpen), status_on_error, with_request_body.
// What Istio cannot build it answers with "bad CUSTOM" DENY rules (requests the policies match
// are denied): a provider whose service has no cluster here, several providers for one workload
// (Istio's default without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS). Dry-run CUSTOM policies
// are refused (Istio's own form still calls the authorizer and enforces their DENY rules).
import type { AuthzPolicy } from '../model/authorization.js';
import type { Cluster } from '../model/mesh.js';
import type { ExtAuthzProvider } from '../model/mesh-settings.js';
import { envoyDuration } from './duration.js';
import { EnvoyConfigError } from './envoy-config-error.js';
import type { Obj } from './istio-resources.js';
import { rbac, RBAC_FILTER_NAME, RBAC_TYPE } from './rbac-policy.js';

export const EXT_AUTHZ_FILTER_NAME = 'envoy.filters.http.ext_authz';
const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
export const EXT_AUTHZ_SHADOW_PREFIX = 'istio_ext_authz_';
const MATCH_PREFIX = 'istio-ext-authz';
const BAD_CUSTOM_SUFFIX = '-deny-due-to-bad-CUSTOM-action';

export interface CustomContext {
  /** The providers the policies name (MeshConfig.extAuthzProviders). */
  readonly providers: readonly ExtAuthzProvider[];
  /** The clusters the translation emits (the provider's service must be one). */
  readonly clusters: readonly Cluster[];
  readonly warnings: string[];
}

/** The filters for the CUSTOM policies in `policies` (none: none), providers in name order. */
export function envoyExtAuthzFilters(policies: readonly AuthzPolicy[], ctx: CustomContext): Obj[] {
  const custom = policies.filter((p) => p.action === 'CUSTOM');
  if (custom.length === 0) return [];
  const dry = custom.find((p) => p.dryRun);
  if (dry !== undefined) throw new EnvoyConfigError('envoy_config_authz_custom', `AuthorizationPolicy ${dry.name}`, 'a dry-run CUSTOM policy has no Envoy form that only logs (Istio\'s still calls the authorizer); remove istio.io/dry-run or serve this workload with a wasmesh proxy');
  const byProvider = new Map<string, AuthzPolicy[]>();
  for (const p of custom) {
    const name = p.provider ?? '';
    byProvider.set(name, [...(byProvider.get(name) ?? []), p]);
  }
  const names = [...byProvider.keys()].sort();
  const prefixOf = (provider: string): string => `${MATCH_PREFIX}-${provider}-`;
  if (names.length > 1) {
    ctx.warnings.push(`CUSTOM authorization names ${names.length} providers (${names.join(', ')}) for one workload; as Istio (without PILOT_ENABLE_MULTIPLE_CUSTOM_AUTHZ_PROVIDERS), requests their policies match are denied`);
    return names.map((n) => badCustom(byProvider.get(n)!, prefixOf(n)));
  }
  const out: Obj[] = [];
  for (const name of names) {
    const list = byProvider.get(name)!;
    const provider = ctx.providers.find((p) => p.name === name);
    const cluster = provider === undefined ? undefined : clusterOf(provider, ctx.clusters);
    if (provider === undefined || cluster === undefined) {
      ctx.warnings.push(`CUSTOM authorization provider ${name}: ${provider === undefined ? 'not among meshConfig extensionProviders' : `no cluster for its service ${provider.service}:${provider.port}`}; as Istio, requests its policies match are denied`);
      out.push(badCustom(list, prefixOf(name)));
      continue;
    }
    out.push(
      { name: RBAC_FILTER_NAME, typed_config: { '@type': RBAC_TYPE, shadow_rules: rbac('DENY', list, prefixOf(name)), shadow_rules_stat_prefix: EXT_AUTHZ_SHADOW_PREFIX } },
      { name: EXT_AUTHZ_FILTER_NAME, typed_config: extAuthz(provider, cluster) },
    );
  }
  return out;
}

/** Istio's getBadCustomDenyRules: the policies as enforced DENY rules, names suffixed. */
function badCustom(policies: readonly AuthzPolicy[], prefix: string): Obj {
  const rules = rbac('DENY', policies, prefix);
  const named: Record<string, Obj> = {};
  for (const [k, v] of Object.entries(rules.policies as Record<string, Obj>)) named[k + BAD_CUSTOM_SUFFIX] = v;
  return { name: RBAC_FILTER_NAME, typed_config: { '@type': RBAC_TYPE, rules: { action: 'DENY', policies: named } } };
}

/** Istio's LookupCluster: the service (`host` or `namespace/host`) and port among the clusters, without subset. */
function clusterOf(p: ExtAuthzProvider, clusters: readonly Cluster[]): Cluster | undefined {
  const host = p.service.includes('/') ? p.service.slice(p.service.indexOf('/') + 1) : p.service;
  return clusters.find((c) => c.host === host && c.port === p.port && c.subset === null);
}

/** Istio's generateHeaders: header names as case-insensitive string matchers (`*` prefix/suffix forms). */
function headerPatterns(names: readonly string[]): Obj | undefined {
  if (names.length === 0) return undefined;
  return {
    patterns: names.map((h) => (h.startsWith('*') ? { suffix: h.slice(1), ignore_case: true } : h.endsWith('*') ? { prefix: h.slice(0, -1), ignore_case: true } : { exact: h, ignore_case: true })),
  };
}

function extAuthz(p: ExtAuthzProvider, cluster: Cluster): Obj {
  const host = cluster.host;
  const config: Obj = {
    '@type': EXT_AUTHZ_TYPE,
    status_on_error: { code: p.statusOnError },
    failure_mode_allow: p.failOpen,
    transport_api_version: 'V3',
    filter_enabled_metadata: {
      filter: RBAC_FILTER_NAME,
      path: [{ key: `${EXT_AUTHZ_SHADOW_PREFIX}shadow_effective_policy_id` }],
      value: { string_match: { prefix: `${MATCH_PREFIX}-${p.name}` } },
    },
  };
  const timeout = envoyDuration(p.timeoutMs);
  if (p.kind === 'grpc') {
    config.grpc_service = { envoy_grpc: { cluster_name: cluster.name, authority: host }, timeout };
  } else {
    const service: Obj = { path_prefix: p.pathPrefix, server_uri: { uri: `http://${host}`, cluster: cluster.name, timeout } };
    const upstream = headerPatterns(p.headersToUpstreamOnAllow);
    const client = headerPatterns(p.headersToDownstreamOnDeny);
    if (upstream !== undefined || client !== undefined) service.authorization_response = { ...(upstream && { allowed_upstream_headers: upstream }), ...(client && { allowed_client_headers: client }) };
    config.http_service = service;
    const allowed = headerPatterns(p.includeRequestHeadersInCheck);
    if (allowed !== undefined) config.allowed_headers = allowed;
  }
  if (p.maxRequestBytes !== null) {
    config.with_request_body = {
      max_request_bytes: p.maxRequestBytes,
      ...(p.allowPartialMessage === true ? { allow_partial_message: true } : {}),
      ...(p.packAsBytes === true ? { pack_as_bytes: true } : {}),
    };
  }
  return config;
}
