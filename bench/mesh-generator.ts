// Synthetic meshes of a given route count for the route-match benchmark, shaped like what
// Istio produces for a namespace-per-team cluster: many services with exact domains (with and
// without port), a few wildcard gateways, each with a handful of ordered HTTP rules.
import { noHeaderOps, type Cluster, type MeshConfig, type Route, type VirtualHost } from '../host/model/mesh.js';

/** Rules per virtual host; the last is a catch-all, so a host that matches always routes. */
export const ROUTES_PER_HOST = 5;
/** One virtual host in this many uses a wildcard domain (`*.apps-<k>.example.com`). */
const WILDCARD_EVERY = 25;

export interface GeneratedMesh {
  mesh: MeshConfig;
  routeCount: number;
  /** Requests whose expected result the benchmark checks before timing. */
  requests: {
    /** First host, first rule (header + prefix match). */
    early: BenchRequest;
    /** Last exact host, falls through to its last rule. */
    late: BenchRequest;
    /** A wildcard host, prefix rule. */
    wildcard: BenchRequest;
    /** An authority no virtual host claims: no route (Envoy NR). */
    miss: BenchRequest;
  };
}

export interface BenchRequest {
  method: string;
  path: string;
  authority: string;
  headers: Array<[string, string]>;
  /** Expected route index in the flattened routes (see mesh.ts index contract), or -1. */
  expect: number;
}

function serviceHost(i: number): string {
  return `svc-${i}.team-${i % 37}.svc.cluster.local`;
}

function route(name: string, matches: Route['matches'], clusters: Array<[string, number]>): Route {
  return {
    name,
    matches,
    destinations: clusters.map(([cluster, weight]) => ({ cluster, weight, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() })),
    requestHeaders: noHeaderOps(),
    responseHeaders: noHeaderOps(),
    timeoutMs: null,
  };
}

function cluster(host: string, subset: string, i: number): Cluster {
  return {
    name: `outbound|80|${subset}|${host}`,
    host,
    port: 80,
    subset,
    endpoints: [{ address: `10.${(i >> 8) & 255}.${i & 255}.${subset === 'v1' ? 1 : 2}`, port: 8080, labels: { version: subset }, weight: 1 }],
    lb: 'ROUND_ROBIN',
  };
}

/** A mesh with exactly `routeCount` routes (a multiple of ROUTES_PER_HOST, at least 2 hosts' worth). */
export function generateMesh(routeCount: number): GeneratedMesh {
  if (!Number.isInteger(routeCount) || routeCount < ROUTES_PER_HOST * 2 || routeCount % ROUTES_PER_HOST !== 0) {
    throw new Error(`bench: generateMesh(${routeCount}): route count must be a multiple of ${ROUTES_PER_HOST}, at least ${ROUTES_PER_HOST * 2}`);
  }
  const hostCount = routeCount / ROUTES_PER_HOST;
  const virtualHosts: VirtualHost[] = [];
  const clusters: Cluster[] = [];
  let wildcardHost = -1;
  let lastExactHost = -1;
  for (let h = 0; h < hostCount; h++) {
    // Host 1 is always a wildcard so that even the 10-route mesh has one.
    const wildcard = h === 1 || h % WILDCARD_EVERY === WILDCARD_EVERY - 1;
    const fqdn = wildcard ? `apps-${h}.example.com` : serviceHost(h);
    const domains = wildcard ? [`*.${fqdn}`] : [fqdn, `${fqdn}:80`, `svc-${h}.team-${h % 37}`, `svc-${h}.team-${h % 37}:80`];
    if (wildcard) wildcardHost = h;
    else lastExactHost = h;
    const v1 = `outbound|80|v1|${fqdn}`;
    const v2 = `outbound|80|v2|${fqdn}`;
    clusters.push(cluster(fqdn, 'v1', h), cluster(fqdn, 'v2', h));
    const base = `team-${h % 37}/vs-${h}`;
    virtualHosts.push({
      name: `${fqdn}:80`,
      domains,
      routes: [
        route(`${base}/canary`, [{ uri: { kind: 'prefix', value: '/api/' }, ignoreUriCase: false, headers: [{ name: 'x-canary', match: { kind: 'exact', value: 'true' }, invert: false }] }], [[v2, 100]]),
        route(`${base}/health`, [{ uri: { kind: 'exact', value: '/healthz' }, ignoreUriCase: false, headers: [] }], [[v1, 100]]),
        route(`${base}/api-v2`, [{ uri: { kind: 'prefix', value: '/api/v2/' }, ignoreUriCase: false, headers: [] }], [[v2, 100]]),
        route(`${base}/static`, [
          { uri: { kind: 'prefix', value: '/static/' }, ignoreUriCase: false, headers: [] },
          { uri: { kind: 'prefix', value: '/assets/' }, ignoreUriCase: false, headers: [{ name: 'user-agent', match: { kind: 'prefix', value: 'Mozilla/' }, invert: false }] },
        ], [[v1, 100]]),
        route(`${base}/default`, [], [[v1, 80], [v2, 20]]),
      ],
    });
  }
  const headers: Array<[string, string]> = [['user-agent', 'curl/8.5.0'], ['accept', '*/*'], ['x-request-id', '3f1c2a9e-7b4d-4e21-9c55-0d6f8e2b1a77']];
  return {
    mesh: { virtualHosts, clusters },
    routeCount,
    requests: {
      early: { method: 'GET', path: '/api/users/42', authority: serviceHost(0), headers: [...headers, ['x-canary', 'true']], expect: 0 },
      late: { method: 'GET', path: '/orders?page=2', authority: `${serviceHost(lastExactHost)}:80`, headers, expect: lastExactHost * ROUTES_PER_HOST + 4 },
      wildcard: { method: 'GET', path: '/static/app.js', authority: `web.apps-${wildcardHost}.example.com`, headers, expect: wildcardHost * ROUTES_PER_HOST + 3 },
      miss: { method: 'GET', path: '/', authority: 'unknown.example.org', headers, expect: -1 },
    },
  };
}
