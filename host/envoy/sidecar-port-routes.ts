// An Envoy sidecar's HTTP route tables one per port, as Istio's RDS names them ("80", "8080"):
// the table of port P holds only the virtual hosts of services that have port P (Istio's
// `<host>:<P>`), so a request that reached port 8080 of one service never takes a route another
// service has on port 80. Read from the model's virtual hosts (one table for every port, each
// host's domains naming all its ports: host/config/translate/resolve-mesh.ts), for port P:
//   - a virtual host with a domain naming port P keeps, for each name with that port, the name
//     and `name:P` (a Host without a port means the connection's port, as Istio's per-port
//     domains do); one naming only other ports is not in P's table; one naming no port at all (a
//     wildcard host of a VirtualService) keeps its names with and without `:P`; the catch-all `*`
//     (allow_any / block_all) is in every table;
//   - the service's addresses (ServiceEntry `addresses`, not CIDRs) join its names, `A` and `A:P`,
//     as Istio lists a service's VIP among its domains;
//   - route match blocks that name another port are dropped (a route left with none is dropped),
//     a block naming port P loses the condition (it always holds in this table), as Istio builds
//     its routes per listener port.
// A domain two virtual hosts both claim keeps the first (Envoy rejects duplicates), warned.
import type { MeshConfig, Route, VirtualHost } from '../model/mesh.js';
import { splitPort } from './virtual-host-domains.js';

/** The name of port P's route configuration (Istio's RDS name: the port number). */
export function portRouteName(port: number): string {
  return String(port);
}

/** Istio's virtual host name `<host>:<port>`: the model's name with its own port (if any) replaced. */
function vhName(name: string, port: number): string {
  return `${splitPort(name).host}:${port}`;
}

/** The route with its match blocks for port P (null: no block applies on this port). */
function routeForPort(route: Route, port: number): Route | null {
  if (route.matches.length === 0) return route;
  if (!route.matches.some((m) => m.port !== null && m.port !== undefined)) return route;
  const matches = route.matches.filter((m) => m.port === null || m.port === undefined || m.port === port).map((m) => (m.port === port ? { ...m, port: null } : m));
  return matches.length === 0 ? null : { ...route, matches };
}

/** The addresses (not CIDRs) of each service host that has port P. */
function addressesByHost(mesh: MeshConfig, port: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of mesh.serviceAddresses ?? []) {
    if (e.port !== port || e.address === null || e.address.includes('/')) continue;
    const list = out.get(e.host) ?? [];
    if (!list.includes(e.address)) list.push(e.address);
    out.set(e.host, list);
  }
  return out;
}

/**
 * The virtual hosts of port P's route table, with Envoy's final domains (each host's names with
 * and without `:P`, deduplicated across hosts) and the routes that apply on P.
 */
export function virtualHostsForPort(mesh: MeshConfig, port: number, warnings: string[]): VirtualHost[] {
  const addresses = addressesByHost(mesh, port);
  const owner = new Map<string, string>();
  const out: VirtualHost[] = [];
  let catchAll: VirtualHost | null = null;
  for (const vh of mesh.virtualHosts) {
    if (vh.domains.length === 1 && vh.domains[0] === '*') {
      catchAll ??= vh;
      continue;
    }
    const parsed = vh.domains.map((d) => splitPort(d.toLowerCase()));
    const anyPort = parsed.some((d) => d.port !== null);
    const names = anyPort ? parsed.filter((d) => d.port === String(port)).map((d) => d.host) : parsed.map((d) => d.host);
    if (names.length === 0) continue;
    // An IPv6 address is bracketed in a Host header.
    for (const n of [...names]) for (const a of addresses.get(n) ?? []) if (!names.includes(a)) names.push(a.includes(':') ? `[${a}]` : a);
    const name = vhName(vh.name, port);
    const domains: string[] = [];
    for (const n of names) {
      for (const d of [n, `${n}:${port}`]) {
        const first = owner.get(d);
        if (first === undefined) {
          owner.set(d, name);
          domains.push(d);
        } else if (first !== name) {
          warnings.push(`route table ${portRouteName(port)}: virtual host ${name}: domain "${d}" already belongs to virtual host ${first}, which wins (Envoy rejects duplicate domains)`);
        }
      }
    }
    const routes = vh.routes.map((r) => routeForPort(r, port)).filter((r): r is Route => r !== null);
    if (domains.length === 0 || routes.length === 0) continue;
    out.push({ name, domains, routes });
  }
  // Istio's catch-all is searched last whatever its place (Envoy: `*` after every other domain).
  if (catchAll !== null) out.push(catchAll);
  return out;
}
