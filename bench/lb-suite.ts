// The load-balancer benchmark (issue 3): one endpoint pick per algorithm for clusters of 3, 10
// and 100 endpoints: ROUND_ROBIN, LEAST_REQUEST and RANDOM through the route table, ring hash
// and Maglev through the consistent-hash balancer (hash + lookup, and lookup alone).
import { compileRouteTable } from '../host/compile/route-table.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE } from '../host/model/istio-defaults.js';
import { HashBalancer, hashKey } from '../host/core/balance/hash-balancer.js';
import { RouteTable } from '../host/core/route/route-table.js';
import { Core } from '../host/core/wasm.js';
import { noHeaderOps, type Cluster, type LbPolicy, type MeshConfig } from '../host/model/mesh.js';
import { sink, type BenchCase, type BenchGroup, type BenchSuite } from './runner.js';

export const ENDPOINT_COUNTS = [3, 10, 100] as const;
/** Table balancers, in cluster order: cluster i of the bench mesh uses TABLE_LBS[i]. */
const TABLE_LBS: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'];
/** Distinct request keys (a user id header's values), cycled so no pick repeats the last one's key. */
const KEYS = Array.from({ length: 1024 }, (_, i) => `user-${(i * 7919) % 100_003}`);
/** The same keys as bytes, as a key read straight from a request's bytes would arrive. */
const KEY_BYTES = KEYS.map((k) => new TextEncoder().encode(k));

function address(e: number): string {
  return `10.0.${e >> 8}.${(e & 255) + 1}`;
}

/** One virtual host routing to three clusters of `n` endpoints, one per table balancer. */
export function lbMesh(n: number): MeshConfig {
  const clusters: Cluster[] = TABLE_LBS.map((lb) => ({
    name: `outbound|9080|${lb.toLowerCase()}|reviews.default.svc.cluster.local`,
    host: 'reviews.default.svc.cluster.local',
    port: 9080,
    subset: lb.toLowerCase(),
    endpoints: Array.from({ length: n }, (_, e) => ({ address: address(e), port: 9080, labels: {}, weight: 1 })),
    lb,
  }));
  const destinations = clusters.map((c) => ({ cluster: c.name, weight: 1, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }));
  return {
    virtualHosts: [{ name: 'reviews', domains: ['reviews'], routes: [{ name: 'default/reviews/0', matches: [], destinations, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null }] }],
    clusters,
  };
}

/** The hash balancers' endpoints: Envoy's host key `ip:port`, weight 1. */
export function hashEndpoints(n: number): Array<{ key: string; weight: number }> {
  return Array.from({ length: n }, (_, e) => ({ key: `${address(e)}:9080`, weight: 1 }));
}

function fail(what: string): never {
  throw new Error(`bench: ${what}`);
}

/** Throws unless each table balancer really balances (so no case is timed on a degenerate path). */
function checkTable(t: RouteTable, n: number): void {
  const rr = Array.from({ length: n }, () => t.pickEndpoint(0)).sort((a, b) => a - b);
  if (rr.some((e, i) => e !== i)) fail(`ROUND_ROBIN over ${n} endpoints: ${n} picks were not each endpoint once`);
  const seen = new Set<number>();
  for (let i = 0; i < 200 * n; i++) {
    const e = t.pickEndpoint(2);
    if (e < 0 || e >= n) fail(`RANDOM over ${n} endpoints picked ${e}`);
    seen.add(e);
  }
  if (seen.size !== n) fail(`RANDOM over ${n} endpoints reached ${seen.size} in ${200 * n} picks`);
  // LEAST_REQUEST (power of two choices) with endpoint e holding e active requests: the idle
  // endpoint 0 must win far more often than the busiest, which wins only when drawn twice.
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < 300 * n; i++) {
    const e = t.pickEndpoint(1);
    if (e < 0 || e >= n) fail(`LEAST_REQUEST over ${n} endpoints picked ${e}`);
    counts[e]++;
  }
  if (!(counts[0] > 2 * counts[n - 1])) fail(`LEAST_REQUEST over ${n} endpoints: idle endpoint ${counts[0]} picks, busiest ${counts[n - 1]}`);
}

function checkHash(core: Core, b: HashBalancer, n: number): void {
  const seen = new Set<number>();
  KEYS.forEach((k, i) => {
    const e = b.pickKey(k);
    if (e < 0 || e >= n) fail(`${b.kind} over ${n} endpoints picked ${e} for ${k}`);
    if (b.pickKey(k) !== e || b.pickKey(KEY_BYTES[i]) !== e || b.pick(hashKey(core, k)) !== e) fail(`${b.kind} over ${n} endpoints: key ${k} is not picked consistently`);
    seen.add(e);
  });
  if (seen.size < Math.min(n, 3)) fail(`${b.kind} over ${n} endpoints: ${KEYS.length} keys reached only ${seen.size} endpoints`);
}

export function lbSuite(): BenchSuite {
  const core = new Core();
  const groups: BenchGroup[] = ENDPOINT_COUNTS.map((n, g) => {
    const t = RouteTable.load(core, compileRouteTable(lbMesh(n)), g + 1);
    for (let e = 0; e < n; e++) t.active(1, e, e);
    checkTable(t, n);
    const ring = HashBalancer.build(core, hashEndpoints(n), { kind: 'ringHash', minimumRingSize: DEFAULT_MIN_RING_SIZE, maximumRingSize: DEFAULT_MAX_RING_SIZE, stableRebuild: false });
    const maglev = HashBalancer.build(core, hashEndpoints(n), { kind: 'maglev', tableSize: DEFAULT_MAGLEV_TABLE_SIZE });
    checkHash(core, ring, n);
    checkHash(core, maglev, n);
    const hashes = KEYS.map((k) => hashKey(core, k));
    const lo = Uint32Array.from(hashes, (h) => Number(h & 0xffffffffn));
    const hi = Uint32Array.from(hashes, (h) => Number(h >> 32n));
    let k = 0;
    const cases: BenchCase[] = [
      { name: 'ROUND_ROBIN', fn: () => { sink.value += t.pickEndpoint(0) + 1; } },
      { name: 'LEAST_REQUEST (P2C)', fn: () => { sink.value += t.pickEndpoint(1) + 1; } },
      { name: 'RANDOM', fn: () => { sink.value += t.pickEndpoint(2) + 1; } },
    ];
    for (const [label, b] of [['ring hash', ring], ['maglev', maglev]] as const) {
      cases.push(
        { name: `${label}: pickKey(string)`, fn: () => { sink.value += b.pickKey(KEYS[k = (k + 1) & 1023]) + 1; } },
        { name: `${label}: pickKey(bytes)`, fn: () => { sink.value += b.pickKey(KEY_BYTES[k = (k + 1) & 1023]) + 1; } },
        { name: `${label}: hashKey + pick`, fn: () => { sink.value += b.pick(hashKey(core, KEYS[k = (k + 1) & 1023])) + 1; } },
        { name: `${label}: lookup (pickHalves)`, fn: () => { k = (k + 1) & 1023; sink.value += b.pickHalves(lo[k], hi[k]) + 1; } },
      );
    }
    const sizes = `ring ${ring.info().entries.toLocaleString('en-US')} points, maglev ${maglev.info().entries.toLocaleString('en-US')} slots`;
    return { title: `lb pick · ${n} endpoints (${sizes})`, cases };
  });
  return {
    title: 'Load balancer pick',
    about: [
      'One op = one endpoint pick, every endpoint healthy. ROUND_ROBIN, LEAST_REQUEST (power of two choices; endpoint e',
      'holds e active requests) and RANDOM: RouteTable.pickEndpoint. Ring hash (Envoy defaults: minimum ring 1,024) and',
      `Maglev (table ${DEFAULT_MAGLEV_TABLE_SIZE.toLocaleString('en-US')}): HashBalancer over the same endpoints, keys cycled over ${KEYS.length} user ids.`,
      '"pickKey": xxHash64 of the key and the lookup in one core call (string: encoded to UTF-8 first; bytes: as is);',
      '"hashKey + pick": the same via a BigInt hash,',
      'as host/upstream/cluster-manager.ts does it today; "lookup": the table lookup alone for a precomputed hash.',
    ].join('\n'),
    groups,
  };
}
