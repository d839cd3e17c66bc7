// The circuit-breaker resources a cluster's connection pool takes and gives back (connections,
// pending requests) and its per-connection request limit. The core's CircuitBreaker
// (host/core/upstream/circuit-breaker.ts, counts in Wasm memory) is the real one; LocalBreaker is the
// stand-in for a pool that has no core state (unit tests, clusters built without a manager).

/** The resources a pool limits; names match CircuitBreaker's kinds. */
export type PoolResource = 'connection' | 'pending';

/** What a pool needs from a circuit breaker (the core's CircuitBreaker fits this shape). */
export interface ConnectionBreaker {
  /** True when a unit was granted; false when the resource is at its limit. */
  tryAcquire(kind: PoolResource): boolean;
  /** Gives back a unit; returns the new count. */
  release(kind: PoolResource): number;
  /** Whether a connection that has completed `served` requests may take another. */
  connectionReusable(served: number): boolean;
}

/** A breaker counting in JS: used when no core cluster state backs the pool. */
export class LocalBreaker implements ConnectionBreaker {
  readonly #limit: Record<PoolResource, number>;
  readonly #count: Record<PoolResource, number> = { connection: 0, pending: 0 };
  readonly #maxRequestsPerConnection: number;

  constructor(limits: { maxConnections: number; maxPending: number; maxRequestsPerConnection?: number }) {
    this.#limit = { connection: limits.maxConnections, pending: limits.maxPending };
    this.#maxRequestsPerConnection = limits.maxRequestsPerConnection ?? 0;
  }

  tryAcquire(kind: PoolResource): boolean {
    if (this.#count[kind] >= this.#limit[kind]) return false;
    this.#count[kind]++;
    return true;
  }

  release(kind: PoolResource): number {
    // Never below zero: a pool that releases more than it took has a bug, not a negative count.
    if (this.#count[kind] > 0) this.#count[kind]--;
    return this.#count[kind];
  }

  connectionReusable(served: number): boolean {
    return this.#maxRequestsPerConnection === 0 || served < this.#maxRequestsPerConnection;
  }
}
