// Envoy's fully jittered exponential backoff between retries (JitteredExponentialBackOffStrategy,
// source/common/common/backoff_strategy.cc): the interval starts at the base (Istio leaves
// Envoy's 25 ms unless `retries.backoff` is set), doubles while below max/2 and is then held at
// max (Envoy's default max is 10 × base); each wait is random % interval, uniform in
// [0, interval). The random numbers come from the cluster-state region's xorshift32, seeded by
// the host, so a given seed always yields the same waits.
import { nextRandom } from './cluster-state';

/** The interval (ms) Envoy's strategy uses for retry number `retry` (1 = first retry). */
export function backoffInterval(baseMs: u32, maxMs: u32, retry: u32): u32 {
  // Envoy: next = next < max / 2 ? next * 2 : max (integer division).
  const doublingLimit = maxMs / 2;
  let interval = baseMs;
  for (let n: u32 = 1; n < retry && interval != maxMs; n++) {
    interval = interval < doublingLimit ? interval * 2 : maxMs;
  }
  return interval;
}

/** A wait (ms) for retry number `retry`: random % interval, so in [0, interval) ⊆ [0, max). */
export function backoffMs(c: usize, baseMs: u32, maxMs: u32, retry: u32): u32 {
  const interval = backoffInterval(baseMs, maxMs, retry);
  return nextRandom(c) % interval;
}
