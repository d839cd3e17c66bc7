// Small builders for MeshConfig values in the route-table tests (the core's matcher and pickers,
// host/compile), and load() to compile one into a RouteTable on a core, so each test states only
// what it is about. The data-path and Envoy tests build whole routes with mesh-fixtures.ts instead.
import type { Cluster, HeaderMatch, MeshConfig, Route, RouteMatch, VirtualHost, LbPolicy } from '../../host/model/mesh.js';
import { noHeaderOps } from '../../host/model/mesh.js';
import { compileRouteTable, type RouteTableOptions } from '../../host/compile/route-table.js';
import { RouteTable } from '../../host/core/route/route-table.js';
import { Core } from '../../host/core/wasm.js';

export function route(name: string, matches: RouteMatch[] = [], destinations: Array<[string, number]> = [['c0', 100]]): Route {
  return {
    name,
    matches,
    destinations: destinations.map(([cluster, weight]) => ({ cluster, weight, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() })),
    requestHeaders: noHeaderOps(),
    responseHeaders: noHeaderOps(),
    timeoutMs: null,
  };
}

export function match(uri: RouteMatch['uri'], headers: HeaderMatch[] = [], ignoreUriCase = false, more: Partial<RouteMatch> = {}): RouteMatch {
  return { uri, ignoreUriCase, headers, ...more };
}

export const exact = (value: string) => ({ kind: 'exact' as const, value });
export const prefix = (value: string) => ({ kind: 'prefix' as const, value });
export const regex = (value: string) => ({ kind: 'regex' as const, value });
export const header = (name: string, m: HeaderMatch['match'], invert = false): HeaderMatch => ({ name, match: m, invert });

export function vhost(name: string, domains: string[], routes: Route[]): VirtualHost {
  return { name, domains, routes };
}

export function cluster(name: string, endpoints = 1, lb: LbPolicy = 'ROUND_ROBIN'): Cluster {
  return {
    name,
    host: `${name}.default.svc.cluster.local`,
    port: 80,
    subset: null,
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080, labels: {}, weight: 1 })),
    lb,
  };
}

export function mesh(virtualHosts: VirtualHost[], clusters: Cluster[] = [cluster('c0')]): MeshConfig {
  return { virtualHosts, clusters };
}

let shared: Core | undefined;
/** One core for a test file: tables are loaded and released in it like the data path does. */
export function core(): Core {
  shared ??= new Core();
  return shared;
}

let version = 0;
export function load(m: MeshConfig, c: Core = core(), options: RouteTableOptions = {}): RouteTable {
  return RouteTable.load(c, compileRouteTable(m, options), ++version);
}
