// Routing exports (route table, matcher, weighted selection, endpoint balancer): the numeric
// calls the host makes with a table address from `alloc` that route_table_check accepted.
// Index arguments are range-checked (RouteStatus.BadIndex) so a host bug cannot trap the core.
import {
  RouteStatus, H_ROUTE_COUNT, H_CLUSTER_COUNT, H_CLUSTERS, CLUSTER_SIZE, CL_ENDPOINT_COUNT,
  H_STATE, checkTable, u32At, rec,
} from './table';
import { matchRoute } from './match';
import { pickDestinationSlot, destinationCluster } from './weighted';
import { pickEndpoint, setEndpointHealth, addEndpointActive } from './balancer';

/**
 * Validates the route table of `len` bytes at `table` (once, after copying it in).
 * Returns RouteStatus: Ok (0), BadLength, BadMagic, BadFormat, Corrupt or Unsupported.
 * No other routing call may be given a table this did not accept.
 */
export function route_table_check(table: usize, len: u32): i32 {
  return checkTable(table, len);
}

/** Seeds the table's random state (RANDOM, LEAST_REQUEST); 0 is replaced by a fixed seed. */
export function route_table_seed(table: usize, seed: u32): void {
  store<u32>(rec(table, H_STATE, 0, 0), seed == 0 ? 0x9e3779b9 : seed);
}

/** The flattened route index matching the request view at `req` (see abi.ts), or -1 (no route). */
export function match_route(table: usize, req: usize): i32 {
  return matchRoute(table, req);
}

/**
 * Smooth weighted round robin over route `route`'s destinations: the chosen destination's
 * position in the route (MeshConfig order), -1 when the route has no weighted destination,
 * or RouteStatus.BadIndex.
 */
export function pick_destination_slot(table: usize, route: u32): i32 {
  if (route >= u32At(table, H_ROUTE_COUNT)) return RouteStatus.BadIndex;
  return pickDestinationSlot(table, route);
}

/** As pick_destination_slot, but returns the chosen destination's cluster index. */
export function pick_destination(table: usize, route: u32): i32 {
  if (route >= u32At(table, H_ROUTE_COUNT)) return RouteStatus.BadIndex;
  const slot = pickDestinationSlot(table, route);
  return slot < 0 ? slot : destinationCluster(table, route, <u32>slot);
}

/**
 * An endpoint index of `cluster` by its lb kind, -1 when none is healthy, RouteStatus.BadIndex,
 * or RouteStatus.HostPicks (-7) for a CONSISTENT_HASH / PASSTHROUGH cluster that has endpoints:
 * the host picks with its HashBalancer (see the cluster record in table.ts).
 */
export function pick_endpoint(table: usize, cluster: u32): i32 {
  if (cluster >= u32At(table, H_CLUSTER_COUNT)) return RouteStatus.BadIndex;
  return pickEndpoint(table, cluster);
}

function endpointInRange(table: usize, cluster: u32, endpoint: u32): bool {
  if (cluster >= u32At(table, H_CLUSTER_COUNT)) return false;
  return endpoint < load<u32>(rec(table, H_CLUSTERS, cluster, CLUSTER_SIZE) + CL_ENDPOINT_COUNT);
}

/** Marks an endpoint healthy (1) or not (0). Returns Ok or RouteStatus.BadIndex. */
export function set_endpoint_health(table: usize, cluster: u32, endpoint: u32, healthy: u32): i32 {
  if (!endpointInRange(table, cluster, endpoint)) return RouteStatus.BadIndex;
  setEndpointHealth(table, cluster, endpoint, healthy != 0);
  return RouteStatus.Ok;
}

/** Adds `delta` (+1 at request start, -1 at its end) to an endpoint's active requests; returns the new count or RouteStatus.BadIndex. */
export function endpoint_active(table: usize, cluster: u32, endpoint: u32, delta: i32): i32 {
  if (!endpointInRange(table, cluster, endpoint)) return RouteStatus.BadIndex;
  return <i32>addEndpointActive(table, cluster, endpoint, delta);
}

// The regex exports ride in the routing barrel: route tables are where programs live, and a
// standalone program (tests, tools) is checked and run by the same code the matcher uses.
export { regex_check, regex_match } from '../regex/index';

// Explanation calls for tools (`wasmesh explain`), never the data path: see explain.ts.
import { explainVirtualHost, explainBlockCount, explainConditionCount, explainFirstFailing } from './explain';

/** The virtual host index serving the request view's authority, or -1. */
export function explain_virtual_host(table: usize, req: usize): i32 {
  return explainVirtualHost(table, req);
}

/** Route `route`'s match block count, or RouteStatus.BadIndex. */
export function explain_block_count(table: usize, route: u32): i32 {
  return explainBlockCount(table, route);
}

/** The condition count of one block of a route, or RouteStatus.BadIndex. */
export function explain_condition_count(table: usize, route: u32, block: u32): i32 {
  return explainConditionCount(table, route, block);
}

/** The first failing condition's position in the block, -1 when the block holds, or RouteStatus.BadIndex. */
export function explain_first_failing(table: usize, req: usize, route: u32, block: u32): i32 {
  return explainFirstFailing(table, req, route, block);
}
