// The weighted-pick benchmark: smooth weighted round robin across a route's destinations
// (80/20 and a 5-way split) and endpoint choice within a cluster, as the proxy calls them
// after a route matched.
import { compileRouteTable } from '../host/compile/route-table.js';
import { RouteTable } from '../host/core/route/route-table.js';
import { Core } from '../host/core/wasm.js';
import { noHeaderOps, type Cluster, type LbPolicy, type MeshConfig, type Route } from '../host/model/mesh.js';
import { sink, type BenchCase, type BenchSuite } from './runner.js';

function cluster(name: string, endpoints: number, lb: LbPolicy): Cluster {
  return {
    name,
    host: 'reviews.default.svc.cluster.local',
    port: 9080,
    subset: name,
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 9080, labels: {}, weight: 1 })),
    lb,
  };
}

function route(name: string, split: Array<[string, number]>): Route {
  return {
    name,
    matches: [],
    destinations: split.map(([c, weight]) => ({ cluster: c, weight, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() })),
    requestHeaders: noHeaderOps(),
    responseHeaders: noHeaderOps(),
    timeoutMs: null,
  };
}

/** Splits measured: route 0 is 80/20, route 1 is 5-way; clusters 0–4 with 3 endpoints each. */
const SPLIT_80_20: Array<[string, number]> = [['v1', 80], ['v2', 20]];
const SPLIT_5_WAY: Array<[string, number]> = [['v1', 40], ['v2', 25], ['v3', 20], ['v4', 10], ['v5', 5]];

export function pickMesh(lb: LbPolicy): MeshConfig {
  return {
    virtualHosts: [{ name: 'reviews', domains: ['reviews'], routes: [route('default/reviews/0', SPLIT_80_20), route('default/reviews/1', SPLIT_5_WAY)] }],
    clusters: ['v1', 'v2', 'v3', 'v4', 'v5'].map((n) => cluster(n, 3, lb)),
  };
}

/** Throws unless 100 picks of `route` give each cluster exactly its weight: the glue picks for real. */
function checkSplit(table: RouteTable, route: number, split: Array<[string, number]>): void {
  const counts = new Array<number>(5).fill(0);
  for (let i = 0; i < 100; i++) counts[table.pickCluster(route)]++;
  const want = split.map(([n, w]) => [Number(n.slice(1)) - 1, w] as const);
  for (const [c, w] of want) {
    if (counts[c] !== w) throw new Error(`bench: route ${route} gave cluster ${c} ${counts[c]} of 100 picks, expected ${w}`);
  }
}

export function pickSuite(): BenchSuite {
  const core = new Core();
  const rr = RouteTable.load(core, compileRouteTable(pickMesh('ROUND_ROBIN')), 1);
  checkSplit(rr, 0, SPLIT_80_20);
  checkSplit(rr, 1, SPLIT_5_WAY);
  const cases: BenchCase[] = [
    { name: 'pickCluster 80/20', fn: () => { sink.value += rr.pickCluster(0) + 1; } },
    { name: 'pickCluster 5-way (40/25/20/10/5)', fn: () => { sink.value += rr.pickCluster(1) + 1; } },
    { name: 'pickEndpoint ROUND_ROBIN (3)', fn: () => { sink.value += rr.pickEndpoint(0) + 1; } },
  ];
  const lr = RouteTable.load(core, compileRouteTable(pickMesh('LEAST_REQUEST')), 2);
  cases.push({ name: 'pickEndpoint LEAST_REQUEST (3)', fn: () => { sink.value += lr.pickEndpoint(0) + 1; } });
  const rnd = RouteTable.load(core, compileRouteTable(pickMesh('RANDOM')), 3);
  cases.push({ name: 'pickEndpoint RANDOM (3)', fn: () => { sink.value += rnd.pickEndpoint(0) + 1; } });
  cases.push({ name: 'pickCluster 80/20 + pickEndpoint', fn: () => { sink.value += rr.pickEndpoint(rr.pickCluster(0)) + 1; } });
  return {
    title: 'Weighted pick',
    about: 'One op = one RouteTable call into the core. pickCluster: smooth weighted round robin over the route\'s\ndestinations (exact per 100 picks, checked before timing). pickEndpoint: the cluster\'s lb policy over 3 healthy endpoints.',
    groups: [{ title: 'pick · 5 clusters × 3 endpoints', cases }],
  };
}
