// The route matcher: authority → virtual host, then that host's routes in order; the first
// route with a match block whose conditions all hold wins (Istio's http rule order).
import { RV_AUTHORITY_PTR, RV_AUTHORITY_LEN, RV_PATH_PTR, RV_PATH_LEN } from '../abi';
import {
  H_VHOSTS, H_ROUTES, H_BLOCKS, H_CONDS, VHOST_SIZE, VH_FIRST_ROUTE, VH_ROUTE_COUNT, ROUTE_SIZE,
  RT_FIRST_BLOCK, RT_BLOCK_COUNT, BLOCK_SIZE, BL_FIRST_COND, BL_COND_COUNT, COND_SIZE, rec,
} from './table';
import { findVirtualHost } from './authority';
import { conditionHolds, pathLength } from './condition';

/** Do all conditions of match block `b` hold (AND)? */
function blockHolds(t: usize, b: usize, rv: usize, pathLen: usize): bool {
  const first = load<u32>(b + BL_FIRST_COND);
  const n = load<u32>(b + BL_COND_COUNT);
  let c = rec(t, H_CONDS, first, COND_SIZE);
  for (let i: u32 = 0; i < n; i++, c += <usize>COND_SIZE) {
    if (!conditionHolds(t, c, rv, pathLen)) return false;
  }
  return true;
}

/** Does route `r` match: no blocks (match all), or any block holding (OR)? */
function routeHolds(t: usize, r: usize, rv: usize, pathLen: usize): bool {
  const n = load<u32>(r + RT_BLOCK_COUNT);
  if (n == 0) return true;
  let b = rec(t, H_BLOCKS, load<u32>(r + RT_FIRST_BLOCK), BLOCK_SIZE);
  for (let i: u32 = 0; i < n; i++, b += <usize>BLOCK_SIZE) {
    if (blockHolds(t, b, rv, pathLen)) return true;
  }
  return false;
}

/** The flattened index of the first route matching the request view at `rv`, or -1. */
export function matchRoute(t: usize, rv: usize): i32 {
  const vh = findVirtualHost(t, <usize>load<u32>(rv + RV_AUTHORITY_PTR), <usize>load<u32>(rv + RV_AUTHORITY_LEN));
  if (vh < 0) return -1;
  const v = rec(t, H_VHOSTS, <u32>vh, VHOST_SIZE);
  const first = load<u32>(v + VH_FIRST_ROUTE);
  const n = load<u32>(v + VH_ROUTE_COUNT);
  const pathLen = pathLength(<usize>load<u32>(rv + RV_PATH_PTR), <usize>load<u32>(rv + RV_PATH_LEN));
  let r = rec(t, H_ROUTES, first, ROUTE_SIZE);
  for (let i: u32 = 0; i < n; i++, r += <usize>ROUTE_SIZE) {
    if (routeHolds(t, r, rv, pathLen)) return <i32>(first + i);
  }
  return -1;
}
