// Small MeshConfig builders for data-path tests, so that each test states only what it needs.
import { noHeaderOps, type HeaderOps, type MeshConfig, type Route, type RouteMatch } from '../../host/model/mesh.js';

export interface ClusterSpec {
  name: string;
  ports: number[];
  address?: string;
}

export interface RouteSpec {
  name: string;
  prefix?: string;
  dests: Array<{ cluster: string; weight?: number; requestHeaders?: Partial<HeaderOps>; responseHeaders?: Partial<HeaderOps> }>;
  timeoutMs?: number;
  requestHeaders?: Partial<HeaderOps>;
  responseHeaders?: Partial<HeaderOps>;
}

function ops(p?: Partial<HeaderOps>): HeaderOps {
  return { ...noHeaderOps(), ...p };
}

export function mesh(clusters: ClusterSpec[], routes: RouteSpec[], domains: string[] = ['svc.test']): MeshConfig {
  return {
    virtualHosts: [
      {
        name: 'vh',
        domains,
        routes: routes.map(
          (r): Route => ({
            name: r.name,
            matches: r.prefix ? [{ uri: { kind: 'prefix', value: r.prefix }, ignoreUriCase: false, headers: [] } satisfies RouteMatch] : [],
            destinations: r.dests.map((d) => ({
              cluster: d.cluster,
              weight: d.weight ?? Math.floor(100 / r.dests.length),
              requestHeaders: ops(d.requestHeaders),
              responseHeaders: ops(d.responseHeaders),
            })),
            requestHeaders: ops(r.requestHeaders),
            responseHeaders: ops(r.responseHeaders),
            timeoutMs: r.timeoutMs ?? null,
          }),
        ),
      },
    ],
    clusters: clusters.map((c) => ({
      name: c.name,
      host: `${c.name}.test`,
      port: 80,
      subset: null,
      lb: 'ROUND_ROBIN',
      endpoints: c.ports.map((port) => ({ address: c.address ?? '127.0.0.1', port, labels: {}, weight: 1 })),
    })),
  };
}

/** One route `/` to one cluster with the given endpoint ports. */
export function oneCluster(ports: number[], route: Partial<RouteSpec> = {}): MeshConfig {
  return mesh([{ name: 'backend', ports }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }], ...route }]);
}
