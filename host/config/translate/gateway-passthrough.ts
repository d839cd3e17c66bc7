// A Gateway's TLS passthrough servers (`tls.mode: PASSTHROUGH`, the mode's default, and
// `AUTO_PASSTHROUGH`) → the ports its proxy serves by SNI without terminating TLS
// (host/model/tls-route.ts GatewayPassthroughListener). As Istio: the port's protocol is TLS or
// HTTPS; certificates on such a server are ignored (a warning, as Istio's). Simplifications, each a located error rather than a
// silent difference: one port serves one kind of server (all passthrough of one mode, or none),
// where Envoy could mix terminated and passed-through SNIs in filter chains of one listener.
import type { GatewaySpec } from '../istio-schemas.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { ConfigIssue } from '../config-error.js';
import type { GatewayPassthroughListener, GatewayPassthroughMode } from '../../model/tls-route.js';

type ServerSpec = GatewaySpec['servers'][number];

/** Ports whose protocol may carry passed-through TLS (Istio: TLS, HTTPS). */
const PASSTHROUGH_PROTOCOLS = new Set(['TLS', 'HTTPS']);

/** The passthrough mode of `server`, or null when it does not pass TLS through. */
export function passthroughMode(server: ServerSpec): GatewayPassthroughMode | null {
  const tls = server.tls;
  if (tls === undefined || Object.keys(tls).every((k) => k === 'httpsRedirect')) return null;
  const mode = tls.mode ?? 'PASSTHROUGH';
  return mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH' ? mode : null;
}

/** The passthrough ports of `gateway`, in port order; problems go to `issues`, located. */
export function gatewayPassthroughListeners(gateway: SourcedResource, issues: ConfigIssue[], warnings: string[]): GatewayPassthroughListener[] {
  const spec = gateway.resource.spec as GatewaySpec;
  const otherKind = new Map<number, number>(); // port → index of a server there that is not passthrough
  spec.servers.forEach((s, i) => {
    if (passthroughMode(s) === null && !otherKind.has(s.port.number)) otherKind.set(s.port.number, i);
  });
  const byPort = new Map<number, { mode: GatewayPassthroughMode; servers: string[]; hosts: string[] }>();
  spec.servers.forEach((server, i) => {
    const mode = passthroughMode(server);
    if (mode === null) return;
    const at = ['spec', 'servers', i] as const;
    const protocol = server.port.protocol.toUpperCase();
    if (!PASSTHROUGH_PROTOCOLS.has(protocol)) {
      issues.push(issueAt(gateway.ref, 'invalid_value', [...at, 'port', 'protocol'], `TLS mode ${mode} passes TLS through: the port's protocol must be TLS or HTTPS, not ${server.port.protocol}`));
      return;
    }
    for (const f of ['credentialName', 'serverCertificate', 'privateKey', 'caCertificates'] as const) {
      // Istio warns the same: the certificates are ignored.
      if (server.tls![f] !== undefined) warnings.push(warningAt(gateway.ref, [...at, 'tls', f], `TLS mode ${mode} does not terminate TLS: ${f} is ignored (the backend presents its own certificate)`));
    }
    const other = otherKind.get(server.port.number);
    if (other !== undefined) {
      issues.push(issueAt(gateway.ref, 'invalid_value', [...at, 'port', 'number'], `port ${server.port.number} has a passthrough server and a server that is not (servers[${other}]); a port serves one kind here`));
      return;
    }
    const name = server.name ?? `${gateway.resource.namespace}/${gateway.resource.name}/${i}`;
    const hosts = server.hosts.map((h) => {
      const slash = h.indexOf('/');
      return (slash < 0 ? h : h.slice(slash + 1)).toLowerCase();
    });
    const have = byPort.get(server.port.number);
    if (have === undefined) byPort.set(server.port.number, { mode, servers: [name], hosts });
    else if (have.mode !== mode) issues.push(issueAt(gateway.ref, 'invalid_value', [...at, 'tls', 'mode'], `port ${server.port.number} has both PASSTHROUGH and AUTO_PASSTHROUGH servers; a port serves one mode here`));
    else {
      have.servers.push(name);
      have.hosts.push(...hosts.filter((h) => !have.hosts.includes(h)));
    }
  });
  return [...byPort].sort((a, b) => a[0] - b[0]).map(([port, l]) => ({ port, mode: l.mode, servers: l.servers, hosts: l.hosts }));
}
