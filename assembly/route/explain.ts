// Route explanation: the matcher's own pieces (findVirtualHost, conditionHolds) asked one
// virtual host, one route block at a time, so a tool can say which rule matched and why each
// earlier one did not without a second matcher. Off the hot path: the proxy never calls these.
import { RV_AUTHORITY_PTR, RV_AUTHORITY_LEN, RV_PATH_PTR, RV_PATH_LEN } from '../abi';
import {
  RouteStatus, H_ROUTE_COUNT, H_ROUTES, H_BLOCKS, H_CONDS, ROUTE_SIZE, RT_FIRST_BLOCK, RT_BLOCK_COUNT,
  BLOCK_SIZE, BL_FIRST_COND, BL_COND_COUNT, COND_SIZE, u32At, rec,
} from './table';
import { findVirtualHost } from './authority';
import { conditionHolds, pathLength } from './condition';

/** The virtual host index serving the request view's authority, or -1. */
export function explainVirtualHost(t: usize, rv: usize): i32 {
  return findVirtualHost(t, <usize>load<u32>(rv + RV_AUTHORITY_PTR), <usize>load<u32>(rv + RV_AUTHORITY_LEN));
}

/** Route `route`'s match block count (0: the route matches every request), or BadIndex. */
export function explainBlockCount(t: usize, route: u32): i32 {
  if (route >= u32At(t, H_ROUTE_COUNT)) return RouteStatus.BadIndex;
  return <i32>load<u32>(rec(t, H_ROUTES, route, ROUTE_SIZE) + RT_BLOCK_COUNT);
}

function blockRecord(t: usize, route: u32, block: u32): usize {
  if (route >= u32At(t, H_ROUTE_COUNT)) return 0;
  const r = rec(t, H_ROUTES, route, ROUTE_SIZE);
  if (block >= load<u32>(r + RT_BLOCK_COUNT)) return 0;
  return rec(t, H_BLOCKS, load<u32>(r + RT_FIRST_BLOCK) + block, BLOCK_SIZE);
}

/** The condition count of block `block` of route `route`, or BadIndex. */
export function explainConditionCount(t: usize, route: u32, block: u32): i32 {
  const b = blockRecord(t, route, block);
  if (b == 0) return RouteStatus.BadIndex;
  return <i32>load<u32>(b + BL_COND_COUNT);
}

/**
 * The position (in its block) of the first condition of block `block` of route `route` that
 * does not hold for the request view at `rv`; -1 when every one holds; BadIndex.
 * The same conditionHolds the matcher runs, in the matcher's order.
 */
export function explainFirstFailing(t: usize, rv: usize, route: u32, block: u32): i32 {
  const b = blockRecord(t, route, block);
  if (b == 0) return RouteStatus.BadIndex;
  const pathLen = pathLength(<usize>load<u32>(rv + RV_PATH_PTR), <usize>load<u32>(rv + RV_PATH_LEN));
  const n = load<u32>(b + BL_COND_COUNT);
  let c = rec(t, H_CONDS, load<u32>(b + BL_FIRST_COND), COND_SIZE);
  for (let i: u32 = 0; i < n; i++, c += <usize>COND_SIZE) {
    if (!conditionHolds(t, c, rv, pathLen)) return <i32>i;
  }
  return -1;
}
