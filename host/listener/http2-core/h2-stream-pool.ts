// The core listener's stream objects, reused per connection: a closed stream's H2Stream (with its
// two flow-control windows and DATA queue) is kept for the connection's next stream instead of
// being garbage (issue 15: with the request view and the adapter, the per-stream objects were
// the largest allocation of #onHeaderBlock, and GC the largest cost in h2's p99).
//
// The hazard of reuse is a late call: the adapter of a finished request (its upstream answering
// after the client reset the stream) still holds the object when a new request has it. Each
// stream therefore has a generation, bumped when it comes back here (H2Stream.retire); the adapter
// keeps the generation it was given and does nothing once they differ
// (core-http2-downstream.ts). A connection keeps at most POOL_MAX idle streams: its peak of
// concurrent streams, up to that, and nothing while no stream ever closed.
import { H2Stream } from './h2-stream.js';

/** Idle streams a connection keeps, at most (~200 B each with their windows). */
export const POOL_MAX = 128;

export class H2StreamPool {
  readonly #free: H2Stream[] = [];

  /** Idle streams held now. */
  get size(): number {
    return this.#free.length;
  }

  /** A stream `id` in its initial state: a reused one when there is one, else a new one. */
  open(id: number, sendWindow: number, recvWindow: number, now: number): H2Stream {
    const st = this.#free.pop();
    if (st === undefined) return new H2Stream(id, sendWindow, recvWindow, now);
    st.reopen(id, sendWindow, recvWindow, now);
    return st;
  }

  /** A closed stream given back: retired (new generation) now, kept for reuse while there is room. */
  release(st: H2Stream): void {
    st.retire();
    if (this.#free.length < POOL_MAX) this.#free.push(st);
  }
}
