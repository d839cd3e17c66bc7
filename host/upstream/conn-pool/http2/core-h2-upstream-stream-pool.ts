// The core upstream connection's stream objects, reused per connection: an ended exchange's
// CoreH2UpstreamStream (with its two flow-control windows and lists) is kept for the connection's
// next stream instead of being garbage (issue 15: ~350 B per request, one of the largest
// allocations left above the listener in h2's and gRPC's p99).
//
// The hazard of reuse is a late call: whoever held the stream for an ended exchange (the router
// between the stream's end and its failure callback, a shadow, a callback still on the stack)
// holding it when another exchange has it. Each stream therefore has a generation, bumped when
// its exchange ends (CoreH2UpstreamStream.#end): holders keep the generation they were given
// (UpstreamStream.generation) and do nothing once it differs (router-filter.ts, shadow.ts), and
// the stream's own code re-checks it after every callback. A connection keeps at most POOL_MAX
// idle streams: its peak of concurrent streams, up to that; an upgraded stream (a tunnel holds
// it for good) is never kept.
import { CoreH2UpstreamStream, type CoreH2StreamOwner } from './core-h2-upstream-stream.js';

/** Idle streams a connection keeps, at most (~300 B each with their windows), as the listener's h2-stream-pool.ts. */
export const POOL_MAX = 128;

export class CoreH2UpstreamStreamPool {
  readonly #free: CoreH2UpstreamStream[] = [];
  readonly #max: number;

  constructor(max = POOL_MAX) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`CoreH2UpstreamStreamPool: max must be a whole number ≥ 0, got ${max}`);
    this.#max = max;
  }

  /** Idle streams held now. */
  get size(): number {
    return this.#free.length;
  }

  /** A stream in its initial state for `conn`: a reused one when there is one, else a new one. */
  open(conn: CoreH2StreamOwner, recvWindow: number): CoreH2UpstreamStream {
    const st = this.#free.pop();
    if (st === undefined) return new CoreH2UpstreamStream(conn, recvWindow);
    st.reopen(conn.peerInitialWindow, recvWindow);
    return st;
  }

  /** An ended stream given back (its generation already moved): kept while there is room and it can be reused. */
  release(st: CoreH2UpstreamStream): void {
    if (st.reusable && this.#free.length < this.#max) this.#free.push(st);
  }
}
