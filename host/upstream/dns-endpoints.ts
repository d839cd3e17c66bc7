// A mesh's DNS clusters (Cluster.dnsResolution) with their names replaced by what DnsRefresher
// resolved, as Envoy's clusters hold resolved hosts: STRICT_DNS (resolution DNS) gets one endpoint
// per address of each name (port, labels, weight and identity kept), LOGICAL_DNS
// (DNS_ROUND_ROBIN) the first address only. A name without an answer yet stays a name, resolved
// by the system resolver at connect time, so a proxy serves before its first lookup completes.
import { isIP } from 'node:net';
import type { Cluster, Endpoint, MeshConfig } from '../model/mesh.js';

/** The names the DNS clusters of `mesh` resolve (IP literals need no lookup). */
export function dnsNames(mesh: MeshConfig): Set<string> {
  const out = new Set<string>();
  for (const c of mesh.clusters) {
    if (c.dnsResolution === undefined) continue;
    for (const e of c.endpoints) if (isIP(e.address) === 0) out.add(e.address);
  }
  return out;
}

/** `mesh` with its DNS clusters' names resolved by `addresses` (the mesh itself when nothing changes). */
export function withResolvedEndpoints(mesh: MeshConfig, addresses: (name: string) => readonly string[] | null): MeshConfig {
  let changed = false;
  const clusters = mesh.clusters.map((c): Cluster => {
    if (c.dnsResolution === undefined) return c;
    const endpoints: Endpoint[] = [];
    for (const e of c.endpoints) {
      const resolved = isIP(e.address) === 0 ? addresses(e.address) : null;
      if (resolved === null || resolved.length === 0) {
        endpoints.push(e);
        continue;
      }
      changed = true;
      const taken = c.dnsResolution === 'LOGICAL_DNS' ? resolved.slice(0, 1) : resolved;
      for (const address of taken) endpoints.push({ ...e, address, hostname: e.address });
    }
    return endpoints.length === c.endpoints.length && endpoints.every((e, i) => e === c.endpoints[i]) ? c : { ...c, endpoints };
  });
  return changed ? { ...mesh, clusters } : mesh;
}
