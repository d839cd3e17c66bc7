// The ingress gateway's per-server checks before routing, as Envoy's filter chain per Gateway
// server does with its own route configuration: on a TLS port, a request's Host must be one of
// the hosts of the server its SNI chose (else 404 NR, as no virtual host of that server's routes
// matches); on a plaintext port, a server with httpsRedirect answers 301 to https.
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

/** On a TLS gateway port: the Host must belong to the server chosen at the handshake. */
export const serverHostsFilter: HttpFilter = {
  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    const hosts = stream.downstream.security?.serverHosts;
    if (hosts === undefined || hostInServer(hostOf(stream.downstream.authority), hosts)) return FilterStatus.Continue;
    stream.sendLocalReply('404 Not Found', [], '', 'NR');
    return FilterStatus.StopIteration;
  },
};

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
