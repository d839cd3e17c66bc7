// The route actions answered by the proxy itself, as Pilot writes them: Istio's HTTPRedirect
// as Envoy's RedirectAction (applyRedirect) and HTTPDirectResponse as DirectResponseAction.
import type { DirectResponse, Redirect } from '../model/mesh.js';
import type { Obj } from './istio-resources.js';

/** Envoy's RedirectResponseCode enum: the only codes a RedirectAction can answer with. */
const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

/**
 * The RedirectAction for `r` on a listener at `listenerPort`. Envoy builds the Location from
 * the request as wasmesh does (path_redirect keeps the query unless it has its own; the
 * request's port goes when a port is given), with the differences `warnings` names.
 */
export function envoyRedirect(r: Redirect, listenerPort: number, where: string, warnings: string[]): Obj {
  const out: Obj = {};
  if (r.uri) out.path_redirect = r.uri;
  if (r.authority) out.host_redirect = r.authority;
  const scheme = r.scheme ? r.scheme.toLowerCase() : undefined;
  if (scheme) out.scheme_redirect = scheme;

  let port: number | undefined;
  if (r.port !== undefined && r.port > 0) port = r.port;
  else if (r.derivePort === 'FROM_REQUEST_PORT') {
    // As Istio: Envoy cannot read the port from the request, and Pilot builds each route
    // table for one listener port, so that port is written. wasmesh prefers the authority's.
    port = listenerPort;
    warnings.push(`${where}: redirect derivePort FROM_REQUEST_PORT is the listener port ${listenerPort} in Envoy; wasmesh uses the port in the request's Host when it has one`);
  } else if (r.derivePort === 'FROM_PROTOCOL_DEFAULT') {
    // Istio writes no port: Envoy then keeps a port the Host carries (dropping it only when
    // the scheme changes from its default port), where wasmesh always drops it.
    warnings.push(`${where}: redirect derivePort FROM_PROTOCOL_DEFAULT: Envoy keeps a port the request's Host carries; wasmesh drops it`);
  }
  if (port !== undefined) {
    out.port_redirect = port;
    // The listener speaks plain HTTP, so a redirect without a scheme stays on http.
    if (DEFAULT_PORT[scheme ?? 'http'] === port) {
      warnings.push(`${where}: redirect port ${port}: Envoy writes ":${port}" in Location; wasmesh leaves the scheme's default port out`);
    }
  }

  const code = REDIRECT_CODES[r.redirectCode];
  if (code === undefined) {
    warnings.push(`${where}: redirect code ${r.redirectCode} cannot be expressed in Envoy (301, 302, 303, 307, 308); Envoy answers 301`);
    out.response_code = REDIRECT_CODES[301];
  } else if (r.redirectCode !== 301) {
    out.response_code = code; // MOVED_PERMANENTLY is Envoy's default
  }
  return out;
}

/** The DirectResponseAction for `d` (the body sent as its text, UTF-8, as wasmesh writes it). */
export function envoyDirectResponse(d: DirectResponse): Obj {
  const out: Obj = { status: d.status };
  if (d.body !== null) out.body = { inline_string: d.body };
  return out;
}

/** Envoy's default limit on direct-response bodies, which Istio raises for large bodies. */
export const ENVOY_DIRECT_RESPONSE_BODY_LIMIT = 4096;
