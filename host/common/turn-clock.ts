// The clock as of the current event-loop turn (Envoy's dispatcher's approximate time): the first
// read in a callback turn reads the clock, later reads in the same turn return that value, and
// the value is dropped at the turn's microtask checkpoint (one reaction on a resolved promise,
// queued by the first read: host/common/microtask.ts), so a later turn never sees it. A request
// read the clock ~12 times per proxy (listener start, router attempt start and end, outlier
// reports, the Date field, connection and pool idle times, the access log's and the stats
// filter's durations), ~50–100 ns each on this project's VMs (docs/telemetry.md "Cost"); most of
// them fall in the same two turns (the head read, the response read).
//
// For what a turn's precision suffices for: durations recorded in milliseconds (histograms, the
// access log), start times, idle and route timeouts, the Date field. Not for intervals measured
// inside one turn (they would read 0): those read the clock itself. Reads are of the real clocks
// at call time (Date.now, performance.now), so a test's fake clock is seen from the next turn on.
import { enqueueMicrotask } from './microtask.js';

/** Bit 1: `wall` is this turn's; bit 2: `mono` is. 0: nothing read in this turn (no checkpoint queued). */
let fresh = 0;
let wall = 0;
let mono = 0;

const endTurn = (): void => {
  fresh = 0;
};

/** Date.now() as of this turn (epoch ms). */
export function turnNow(): number {
  if ((fresh & 1) !== 0) return wall;
  if (fresh === 0) enqueueMicrotask(endTurn);
  fresh |= 1;
  return (wall = Date.now());
}

/** performance.now() as of this turn (monotonic ms, fractional). */
export function turnMonotonic(): number {
  if ((fresh & 2) !== 0) return mono;
  if (fresh === 0) enqueueMicrotask(endTurn);
  fresh |= 2;
  return (mono = performance.now());
}
