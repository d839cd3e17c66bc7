// MeshConfig builders for tests, so that each test states only what it is about: mesh() and
// oneCluster() for data-path tests (clusters and prefix routes from short specs), and the pieces
// (route, dest, match, webCluster, policy …) the HTTP, filter and Envoy translation tests
// assemble by hand — what host/config's loader makes of the seed YAML, written out so these tests
// do not depend on the loader.
import { noHeaderOps, type Cluster, type ClusterPolicy, type HeaderOps, type MeshConfig, type Route, type RouteDestination, type RouteMatch } from '../../host/model/mesh.js';
import { clusterPolicyOf, type MergedPolicy } from '../../host/config/translate/traffic-policy.js';
import type { DocumentRef } from '../../host/config/issue-location.js';
import type { ConnectionPoolSpec, LoadBalancerSpec, OutlierDetectionSpec } from '../../host/config/istio-schemas.js';


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

// ── Pieces ──────────────────────────────────────────────────────────────────────────────

export const WEB = 'web.default.svc.cluster.local';

export function ops(partial: Partial<HeaderOps> = {}): HeaderOps {
  return { ...noHeaderOps(), ...partial };
}

export function dest(cluster: string, weight = 100, extra: Partial<RouteDestination> = {}): RouteDestination {
  return { cluster, weight, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), ...extra };
}

export function route(name: string, destinations: RouteDestination[], extra: Partial<Route> = {}): Route {
  return { name, matches: [], destinations, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null, ...extra };
}

export function match(partial: Partial<RouteMatch> = {}): RouteMatch {
  return { uri: null, ignoreUriCase: false, headers: [], ...partial };
}

export function webCluster(subset: string | null, port: number, extra: Partial<Cluster> = {}): Cluster {
  return {
    name: `outbound|5005|${subset ?? ''}|${WEB}`,
    host: WEB,
    port: 5005,
    subset,
    endpoints: [{ address: '127.0.0.1', port, labels: subset ? { version: subset } : {}, weight: 1 }],
    lb: 'ROUND_ROBIN',
    ...extra,
  };
}

/** Seed 000, 03-web-demo-80-20.yaml through the web-gateway: one rule, v1 80 / v2 20. */
export function seed000Split(portV1 = 15101, portV2 = 15102, weights: [number, number] = [80, 20]): MeshConfig {
  const v1 = webCluster('v1', portV1);
  const v2 = webCluster('v2', portV2);
  return {
    virtualHosts: [{ name: 'web-gateway/*', domains: ['*'], routes: [route('default/web/0', [dest(v1.name, weights[0]), dest(v2.name, weights[1])])] }],
    clusters: [v1, v2],
  };
}

/** The Istio resources behind seed000Split, for the parts of the translation that read them. */
export const seed000Resources = [
  {
    apiVersion: 'networking.istio.io/v1alpha3', kind: 'DestinationRule', metadata: { name: 'web', namespace: 'default' },
    spec: { host: 'web', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
  },
  {
    apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService', metadata: { name: 'web', namespace: 'default' },
    spec: {
      hosts: ['*'], gateways: ['web-gateway'],
      http: [{ route: [
        { destination: { host: 'web', port: { number: 5005 }, subset: 'v1' }, weight: 80 },
        { destination: { host: 'web', port: { number: 5005 }, subset: 'v2' }, weight: 20 },
      ] }],
    },
  },
];

/** A DestinationRule trafficPolicy's sub-policies, as Istio spells them. */
export interface TrafficPolicyFixture {
  loadBalancer?: LoadBalancerSpec;
  connectionPool?: ConnectionPoolSpec;
  outlierDetection?: OutlierDetectionSpec;
}

const FIXTURE_REF = { file: 'fixture.yaml', document: 0 } as unknown as DocumentRef;

function merged(tp: TrafficPolicyFixture): MergedPolicy {
  const out: MergedPolicy = {};
  if (tp.loadBalancer) out.loadBalancer = { value: tp.loadBalancer, ref: FIXTURE_REF, path: [] };
  if (tp.connectionPool) out.connectionPool = { value: tp.connectionPool, ref: FIXTURE_REF, path: [] };
  if (tp.outlierDetection) out.outlierDetection = { value: tp.outlierDetection, ref: FIXTURE_REF, path: [] };
  return out;
}

/** The ClusterPolicy host/config resolves from one (merged) traffic policy. */
export function policy(tp: TrafficPolicyFixture): ClusterPolicy {
  return clusterPolicyOf(merged(tp)).policy;
}

/** A one-endpoint `web` subset cluster balanced by a DestinationRule consistentHash. */
export function hashCluster(subset: string, port: number, consistentHash: NonNullable<LoadBalancerSpec['consistentHash']>): Cluster {
  const resolved = clusterPolicyOf(merged({ loadBalancer: { consistentHash } }));
  return webCluster(subset, port, { lb: resolved.lb, policy: resolved.policy });
}
