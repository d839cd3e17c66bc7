// Where an ext_authz provider's checks go. Istio names the authorizer by its service host and
// port and Envoy reaches it through that service's outbound cluster; wasmesh does the same
// without a second router: when the mesh has the cluster `outbound|<port>||<service>`, a check
// goes to one of its endpoints (the first, then round robin); otherwise straight to
// <service>:<port> (a name the OS resolves, or an address).
import type { Cluster } from '../../model/mesh.js';
import type { ExtAuthzProvider } from '../../model/mesh-settings.js';

export interface ExtAuthzTarget {
  /** The next address to send a check to. */
  next(): { host: string; port: number };
}

export function extAuthzTarget(provider: ExtAuthzProvider, clusters: readonly Cluster[]): ExtAuthzTarget {
  const name = `outbound|${provider.port}||${provider.service}`;
  const endpoints = clusters.find((c) => c.name === name)?.endpoints ?? [];
  if (endpoints.length === 0) {
    const direct = { host: provider.service, port: provider.port };
    return { next: () => direct };
  }
  const list = endpoints.map((e) => ({ host: e.address, port: e.port }));
  let at = 0;
  return {
    next: () => {
      const e = list[at]!;
      at = (at + 1) % list.length;
      return e;
    },
  };
}
