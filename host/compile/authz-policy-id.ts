// How Envoy names a compiled AuthorizationPolicy's rule (istiod writes it so in the RBAC
// config): in denial details, shadow and AUDIT logs of the HTTP and the network RBAC filters.
import type { CompiledAuthorization } from './authorization.js';

/** Istio's policy id in Envoy's RBAC config: `ns[<ns>]-policy[<name>]-rule[<i>]`. */
export function istioPolicyId(name: string, rule: number): string {
  const slash = name.indexOf('/');
  const ns = slash < 0 ? '' : name.slice(0, slash);
  return `ns[${ns}]-policy[${slash < 0 ? name : name.slice(slash + 1)}]-rule[${rule}]`;
}

/** Envoy's details for a denial: `rbac_access_denied_matched_policy[<id>|none]`. */
export function deniedDetails(c: CompiledAuthorization, policy: number, rule: number): string {
  return `rbac_access_denied_matched_policy[${policy < 0 ? 'none' : istioPolicyId(c.policies[policy]!.name, rule)}]`;
}
