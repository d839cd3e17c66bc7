// Istio's HTTPRedirect answered by the proxy as Envoy's route redirect action does: the
// Location is scheme://host[:port]path built from the redirect's fields over the request's
// own (scheme from x-forwarded-proto, Host, path), with Envoy's port rules.
import type { Redirect } from '../../model/mesh.js';

/** What the Location is built from, besides the redirect's own fields. */
export interface RedirectRequest {
  /** Request-target: path plus `?query`. */
  path: string;
  authority: string;
  /** The request's scheme as forwarded (x-forwarded-proto, or `http`). */
  scheme: string;
  /** The port the listener received the request on (for derivePort FROM_REQUEST_PORT). */
  listenerPort: number;
}

/** Where the port of `host` starts (index of ':'), or -1; IPv6 literals are bracketed. */
function portStart(host: string): number {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end >= 0 && host[end + 1] === ':' ? end + 1 : -1;
  }
  return host.lastIndexOf(':');
}

const isDefaultPort = (scheme: string, port: string): boolean => (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443');

/** The Location header for `r` answering `req`. */
export function redirectLocation(r: Redirect, req: RedirectRequest): string {
  const scheme = r.scheme ? r.scheme.toLowerCase() : req.scheme;
  let port = '';
  if (r.port !== undefined && r.port > 0) port = String(r.port);
  else if (r.derivePort === 'FROM_PROTOCOL_DEFAULT') port = scheme === 'https' ? '443' : '80';
  else if (r.derivePort === 'FROM_REQUEST_PORT') {
    const at = portStart(req.authority);
    port = at >= 0 ? req.authority.slice(at + 1) : String(req.listenerPort);
  }
  let host: string;
  if (r.authority) host = r.authority;
  else {
    // Envoy's processRequestHost: the request's port goes when a new port is given, or when
    // the scheme changes and the port was the old scheme's default (http://h:80 → https://h).
    host = req.authority;
    const at = portStart(host);
    if (at >= 0) {
      const old = host.slice(at + 1);
      if (port !== '' || (scheme !== req.scheme && isDefaultPort(req.scheme, old))) host = host.slice(0, at);
    }
  }
  if (port !== '' && isDefaultPort(scheme, port)) port = '';
  let path = req.path;
  if (r.uri) {
    // Envoy's path_redirect: a '?' in it replaces the query; otherwise the query is kept.
    const q = req.path.indexOf('?');
    path = r.uri.includes('?') || q < 0 ? r.uri : r.uri + req.path.slice(q);
  }
  return `${scheme}://${host}${port ? ':' + port : ''}${path}`;
}
