// The routers of one proxy worker, reused from one request to the next (issue 15: the Router,
// ~300 B with its retry bookkeeping and endpoint lease, was one of the largest allocations per
// request above the listener, and bytes per request are what drive h2's and gRPC's young-
// generation pauses, i.e. their p99).
//
// The hazard of reuse is a late call: whoever still holds a router for an ended request when the
// next request has it. A router is therefore given back only once nothing can reach it for the
// old request (router-filter.ts, Router.onDestroy): its route deadline out of the queue, its
// timers cleared, its pending stream request cancelled, its upstream exchange ended (a response
// still finishing upstream after the downstream completed holds it until its last callback), no
// tunnel; and every point where a router's own code runs on after a call that could have ended
// the request (and so started another on the same object, e.g. a pipelined HTTP/1 request)
// re-checks its generation, which moves when it is given back.
/** Idle routers a worker keeps, at most (its peak of requests ending between two starts, up to that). */
export const ROUTER_POOL_MAX = 128;

/** A bounded free list of idle objects of one kind. */
export class RouterPool<T> {
  readonly #free: T[] = [];
  readonly #max: number;

  constructor(max = ROUTER_POOL_MAX) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`RouterPool: max must be a whole number ≥ 0, got ${max}`);
    this.#max = max;
  }

  /** Idle objects held now. */
  get size(): number {
    return this.#free.length;
  }

  /** The bound given (or the default). */
  get max(): number {
    return this.#max;
  }

  /** An idle object, or undefined when there is none (the caller makes a new one). */
  take(): T | undefined {
    return this.#free.pop();
  }

  /** An object nothing reaches any more, kept while there is room (else left to the GC); whether it was kept. */
  give(item: T): boolean {
    if (this.#free.length >= this.#max) return false;
    this.#free.push(item);
    return true;
  }
}
