// Endpoint choice within a cluster, dispatched on the cluster's lb kind, plus the per-endpoint
// state the balancers read (health flag, active requests). To add a balancer: a LbKind value
// in table.ts, a function here, a case in pickEndpoint, and accept it in checkTable.
import {
  H_CLUSTERS, H_ENDPOINT_STATE, H_CURSORS, H_STATE, CLUSTER_SIZE, CL_FIRST_ENDPOINT,
  CL_ENDPOINT_COUNT, CL_LB_KIND, ENDPOINT_STATE_SIZE, ES_ACTIVE, ES_HEALTHY, LbKind, RouteStatus, rec,
} from './table';

@inline function endpointState(t: usize, cluster: usize, e: u32): usize {
  return rec(t, H_ENDPOINT_STATE, load<u32>(cluster + CL_FIRST_ENDPOINT) + e, ENDPOINT_STATE_SIZE);
}

@inline function healthy(t: usize, cluster: usize, e: u32): bool {
  return load<u8>(endpointState(t, cluster, e) + ES_HEALTHY) != 0;
}

/** xorshift32 over the table's random state: cheap, allocation-free, good enough to spread load. */
function nextRandom(t: usize): u32 {
  const s = rec(t, H_STATE, 0, 0);
  let x = load<u32>(s);
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  store<u32>(s, x);
  return x;
}

/** The first healthy endpoint at or after `from`, wrapping; -1 when none is healthy. */
function nextHealthy(t: usize, c: usize, n: u32, from: u32): i32 {
  let e = from;
  for (let k: u32 = 0; k < n; k++) {
    if (healthy(t, c, e)) return <i32>e;
    e = e + 1 == n ? 0 : e + 1;
  }
  return -1;
}

/** ROUND_ROBIN: the cursor's endpoint or the next healthy one after it; the cursor moves past it. */
function pickRoundRobin(t: usize, c: usize, cluster: u32, n: u32): i32 {
  const cursor = rec(t, H_CURSORS, cluster, 4);
  const start = load<u32>(cursor);
  const e = nextHealthy(t, c, n, start < n ? start : 0);
  if (e >= 0) store<u32>(cursor, <u32>e + 1 == n ? 0 : <u32>e + 1);
  return e;
}

/** RANDOM: a uniformly random endpoint, or the next healthy one after it. */
function pickRandom(t: usize, c: usize, n: u32): i32 {
  return nextHealthy(t, c, n, nextRandom(t) % n);
}

/** LEAST_REQUEST: Envoy's power of two choices, the one of two random healthy endpoints with fewer active requests. */
function pickLeastRequest(t: usize, c: usize, n: u32): i32 {
  const a = nextHealthy(t, c, n, nextRandom(t) % n);
  if (a < 0 || n == 1) return a;
  const b = nextHealthy(t, c, n, nextRandom(t) % n);
  const activeA = load<u32>(endpointState(t, c, <u32>a) + ES_ACTIVE);
  const activeB = load<u32>(endpointState(t, c, <u32>b) + ES_ACTIVE);
  return activeB < activeA ? b : a;
}

/**
 * An endpoint index of `cluster` chosen by its balancer, -1 when none is healthy (or it has
 * none), or RouteStatus.HostPicks for a HostPicks cluster with endpoints (the host chooses).
 */
export function pickEndpoint(t: usize, cluster: u32): i32 {
  const c = rec(t, H_CLUSTERS, cluster, CLUSTER_SIZE);
  const n = load<u32>(c + CL_ENDPOINT_COUNT);
  if (n == 0) return -1;
  // The balancer switch point: one case per LbKind (checkTable refuses unknown kinds).
  switch (load<u32>(c + CL_LB_KIND)) {
    case LbKind.LeastRequest:
      return pickLeastRequest(t, c, n);
    case LbKind.Random:
      return pickRandom(t, c, n);
    case LbKind.HostPicks:
      return RouteStatus.HostPicks;
    default:
      return pickRoundRobin(t, c, cluster, n);
  }
}

/** Sets an endpoint's health flag (1 = healthy, 0 = not). */
export function setEndpointHealth(t: usize, cluster: u32, endpoint: u32, isHealthy: bool): void {
  store<u8>(endpointState(t, rec(t, H_CLUSTERS, cluster, CLUSTER_SIZE), endpoint) + ES_HEALTHY, isHealthy ? 1 : 0);
}

/** Adds `delta` to an endpoint's active-request count (clamped to 0..2^32-1) and returns the new count. */
export function addEndpointActive(t: usize, cluster: u32, endpoint: u32, delta: i32): u32 {
  const s = endpointState(t, rec(t, H_CLUSTERS, cluster, CLUSTER_SIZE), endpoint) + ES_ACTIVE;
  const v = <i64>load<u32>(s) + <i64>delta;
  const next: u32 = v < 0 ? 0 : v > 0xffffffff ? 0xffffffff : <u32>v;
  store<u32>(s, next);
  return next;
}
