// A workload's AuthorizationPolicies as the HTTP filters of its Envoy listener, in Istio's order
// (listener_builder.go): CUSTOM's RBAC-shadow + ext_authz pairs first (ext-authz-filter.ts), then
// (after jwt_authn, which RequestAuthentication adds) the RBAC filters of AUDIT, DENY and ALLOW
// (rbac-policy.ts).
import type { AuthzPolicy } from '../model/authorization.js';
import type { Cluster } from '../model/mesh.js';
import type { ExtAuthzProvider } from '../model/mesh-settings.js';
import { envoyExtAuthzFilters } from './ext-authz-filter.js';
import type { Obj } from './istio-resources.js';
import { envoyRbacFilters } from './rbac-policy.js';

export interface AuthorizationFilters {
  /** CUSTOM: before authentication. */
  readonly custom: Obj[];
  /** AUDIT, DENY, ALLOW: after authentication. */
  readonly rbac: Obj[];
}

export function envoyAuthorizationFilters(
  policies: readonly AuthzPolicy[] | undefined,
  ctx: { providers?: readonly ExtAuthzProvider[]; clusters: readonly Cluster[]; warnings: string[] },
): AuthorizationFilters {
  const list = policies ?? [];
  return {
    custom: envoyExtAuthzFilters(list, { providers: ctx.providers ?? [], clusters: ctx.clusters, warnings: ctx.warnings }),
    rbac: envoyRbacFilters(list.filter((p) => p.action !== 'CUSTOM')),
  };
}
