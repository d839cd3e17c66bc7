// The ingress gateway's per-port checks before routing, as Envoy's route configuration per
// Gateway port (and per server on a TLS port) does: a request's Host must be one of the hosts of
// the server its SNI chose on a TLS port, or of the port's servers on a plaintext one (else 404
// NR: a host only a 443 server names is never routed on port 80); on a plaintext port, a server
// with httpsRedirect answers 301 to https.
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { GatewayListener } from '../../model/gateway-listener.js';

/** The authority without its port, lower-case (IPv6 literals keep their brackets). */
function hostOf(authority: string): string {
  const end = authority.startsWith('[') ? authority.indexOf(']') + 1 : authority.lastIndexOf(':');
  return (end > 0 ? authority.slice(0, end) : authority).toLowerCase();
}

/** Whether `host` is one of `hosts` (exact, `*.suffix` for one or more labels, or `*`). */
export function hostInServer(host: string, hosts: readonly string[]): boolean {
  for (const h of hosts) {
    if (h === '*' || h === host) return true;
    if (h.startsWith('*.') && host.length > h.length - 1 && host.endsWith(h.slice(1))) return true;
  }
  return false;
}

/**
 * The Host check of a gateway port: the server chosen at the handshake on a TLS port (its hosts
 * travel with the connection), every server of the port on a plaintext one; `listener` null (the
 * Gateway has no such port): no host is served.
 */
export function serverHostsFilter(listener: GatewayListener | null): HttpFilter {
  const portHosts = listener === null ? [] : listener.servers.flatMap((s) => s.hosts);
  const noHosts: readonly string[] = [];
  // The last answer, by authority and host list: a client sends the same Host request after
  // request, and the check is a pure function of the two (no host string cut and lower-cased per
  // request: issue 15's bytes per request). Synchronous, one thread: nothing interleaves.
  let lastAuthority = '';
  let lastHosts: readonly string[] | null = null;
  let lastServed = false;
  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const hosts = stream.downstream.security?.serverHosts ?? (listener?.tls === true ? noHosts : portHosts);
      const authority = stream.downstream.authority;
      let served: boolean;
      if (hosts === lastHosts && authority === lastAuthority) served = lastServed;
      else {
        served = hostInServer(hostOf(authority), hosts);
        lastAuthority = authority;
        lastHosts = hosts;
        lastServed = served;
      }
      if (served) return FilterStatus.Continue;
      stream.sendLocalReply('404 Not Found', [], '', 'NR');
      return FilterStatus.StopIteration;
    },
  };
}

/**
 * On a plaintext gateway port with an httpsRedirect server: 301 to `https://<host><path>` for a
 * request whose Host that server claims (the port dropped, as Envoy's https_redirect).
 */
export function httpsRedirectFilter(listener: GatewayListener): HttpFilter | null {
  const redirecting = listener.servers.filter((s) => s.tls === null && s.httpsRedirect);
  if (redirecting.length === 0) return null;
  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const host = hostOf(stream.downstream.authority);
      // The first server claiming the host decides, as Envoy's virtual host order.
      const server = listener.servers.find((s) => hostInServer(host, s.hosts));
      if (server === undefined || !server.httpsRedirect) return FilterStatus.Continue;
      stream.sendLocalReply('301 Moved Permanently', [['location', `https://${host}${stream.downstream.path}`]], '');
      return FilterStatus.StopIteration;
    },
  };
}
