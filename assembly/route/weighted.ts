// Weighted destination choice for a route: nginx's smooth weighted round robin. Its picks
// repeat with period = total weight and each period holds every destination exactly `weight`
// times, so 80/20 is exactly 80/20 in every window of 100 consecutive picks, interleaved
// rather than in bursts. State (one current weight per destination) lives in the table.
import {
  H_ROUTES, H_DESTS, H_WRR, ROUTE_SIZE, RT_FIRST_DEST, RT_DEST_COUNT, RT_TOTAL_WEIGHT,
  DEST_SIZE, DS_WEIGHT, DS_CLUSTER, rec,
} from './table';

/** The chosen destination's position in route `route`'s destinations, or -1 when none has weight. */
export function pickDestinationSlot(t: usize, route: u32): i32 {
  const r = rec(t, H_ROUTES, route, ROUTE_SIZE);
  const n = load<u32>(r + RT_DEST_COUNT);
  const first = load<u32>(r + RT_FIRST_DEST);
  if (n == 1) return load<u32>(rec(t, H_DESTS, first, DEST_SIZE) + DS_WEIGHT) > 0 ? 0 : -1;
  const total = <i32>load<u32>(r + RT_TOTAL_WEIGHT);
  if (total == 0) return -1;
  let d = rec(t, H_DESTS, first, DEST_SIZE);
  let cur = rec(t, H_WRR, first, 4);
  let best: i32 = -1;
  let bestCur: i32 = 0;
  for (let i: u32 = 0; i < n; i++, d += <usize>DEST_SIZE, cur += 4) {
    const w = <i32>load<u32>(d + DS_WEIGHT);
    // A zero weight never gains credit and is never chosen (Istio: weight 0 = no traffic).
    if (w == 0) continue;
    const c = load<i32>(cur) + w;
    store<i32>(cur, c);
    // Strictly greater: ties go to the earlier destination, which keeps the sequence fixed.
    if (best < 0 || c > bestCur) {
      best = <i32>i;
      bestCur = c;
    }
  }
  const chosen = rec(t, H_WRR, first + <u32>best, 4);
  store<i32>(chosen, bestCur - total);
  return best;
}

/** The cluster index of destination `slot` of route `route`. */
export function destinationCluster(t: usize, route: u32, slot: u32): i32 {
  const r = rec(t, H_ROUTES, route, ROUTE_SIZE);
  return <i32>load<u32>(rec(t, H_DESTS, load<u32>(r + RT_FIRST_DEST) + slot, DEST_SIZE) + DS_CLUSTER);
}
