// The arrays a stream keeps the values it takes out of its upstream response head in
// (StreamCallbacks.takeResponseHeaders), reused by the streams of this thread.
/**
 * Arrays for the values a stream takes from its response head (takeResponseHeaders), reused by
 * the streams of this thread: a stream holds one from its head to its end, so a mesh request
 * (Istio's peer metadata is taken from every upstream response) allocates none. Bounded: as many
 * as streams whose head has gone out and whose end has not, at most TAKEN_POOL_MAX kept.
 */
const TAKEN_POOL: Array<Array<string | null>> = [];
export const TAKEN_POOL_MAX = 256;

/** An array of `n` nulls for a stream's taken values (a released one when there is one). */
export function takenValues(n: number): Array<string | null> {
  const a = TAKEN_POOL.pop() ?? [];
  for (let i = 0; i < n; i++) a[i] = null;
  if (a.length !== n) a.length = n;
  return a;
}

/** Gives a stream's taken values back (its values dropped: a string is not kept alive by the pool). */
export function releaseTakenValues(a: Array<string | null>): void {
  if (TAKEN_POOL.length >= TAKEN_POOL_MAX) return;
  a.fill(null);
  TAKEN_POOL.push(a);
}

/** Arrays in the pool now (tests). */
export function takenPoolSize(): number {
  return TAKEN_POOL.length;
}
