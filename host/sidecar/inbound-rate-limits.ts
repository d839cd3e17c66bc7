// RateLimitPolicy on a sidecar's inbound listener (context SIDECAR_INBOUND or ANY), where Istio
// users put the local rate limits that protect a workload (an EnvoyFilter on SIDECAR_INBOUND).
// The inbound routes are generated from the app ports, so every rule applies to every request:
// local rules as the listener-level ones (checked before routing), each rate limit service's
// descriptors on every inbound route (where the ratelimit filter reads them, as for a route
// without rules of its own on the outbound side).
import type { MeshConfig } from '../model/mesh.js';
import type { RateLimitConfig, RouteGlobalRule } from '../model/rate-limit.js';

/** `inbound` (inboundMesh's config) with the rate limits `limits`; `inbound` itself unchanged. */
export function inboundWithRateLimits(inbound: MeshConfig, limits: RateLimitConfig | undefined): MeshConfig {
  if (limits === undefined) return inbound;
  const global: RouteGlobalRule[] = limits.services.flatMap((service) => service.rules.map((rule) => ({ service, rule })));
  return {
    ...inbound,
    rateLimit: limits,
    virtualHosts: global.length === 0
      ? inbound.virtualHosts
      : inbound.virtualHosts.map((vh) => ({ ...vh, routes: vh.routes.map((r) => ({ ...r, rateLimit: { local: [], global } })) })),
  };
}
