// Istio's CorsPolicy as Envoy's CORS filter configuration: the filter in the HTTP chain, each
// route's policy in typed_per_filter_config (CorsPolicy), as Pilot's translateCORSPolicy
// writes it: lists joined with ",", max_age in seconds, origins as string matchers, IGNORE as
// forward_not_matching_preflights false.
import type { CorsPolicy } from '../model/mesh.js';
import type { Obj } from './istio-resources.js';
import { envoyStringMatch } from './route-match.js';

export const CORS_FILTER_NAME = 'envoy.filters.http.cors';

/** The CORS filter for the HTTP chain: it acts only on routes that carry a policy. */
export function corsFilter(): Obj {
  return { name: CORS_FILTER_NAME, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } };
}

/** The per-route CorsPolicy. */
export function envoyCorsPolicy(cors: CorsPolicy): Obj {
  const out: Obj = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
    allow_origin_string_match: cors.allowOrigins.map(envoyStringMatch),
  };
  if (cors.allowMethods.length > 0) out.allow_methods = cors.allowMethods.join(',');
  if (cors.allowHeaders.length > 0) out.allow_headers = cors.allowHeaders.join(',');
  if (cors.exposeHeaders.length > 0) out.expose_headers = cors.exposeHeaders.join(',');
  if (cors.maxAgeSeconds !== null) out.max_age = String(cors.maxAgeSeconds);
  if (cors.allowCredentials !== null) out.allow_credentials = cors.allowCredentials;
  // Istio: unmatchedPreflights IGNORE answers a preflight that matches no origin itself.
  if (cors.unmatchedPreflights === 'IGNORE') out.forward_not_matching_preflights = false;
  return out;
}
