// A cluster's circuit breaker (assembly/upstream/circuit-breaker.ts): limits and counts per
// resource kind (connections, pending and active requests, retries) in the cluster's region.
import type { CircuitBreakerLimits } from '../../model/circuit-breaker-limits.js';
import type { ClusterRegion } from './upstream-exports.js';
import { check } from './upstream-status.js';

/** Resource kinds; values mirror CbKind in assembly/upstream/circuit-breaker.ts. */
export const CB_KINDS = ['connection', 'pending', 'request', 'retry'] as const;
export type CbKindName = (typeof CB_KINDS)[number];
const CB_KIND: Record<CbKindName, number> = { connection: 0, pending: 1, request: 2, retry: 3 };

/** A cluster's circuit breaker (limits and counts in the cluster's region). */
export class CircuitBreaker {
  readonly #cs: ClusterRegion;

  constructor(cs: ClusterRegion) {
    this.#cs = cs;
  }

  configure(l: CircuitBreakerLimits): void {
    check(this.#cs.exports.cb_configure(this.#cs.address, l.maxConnections, l.maxPendingRequests, l.maxRequests, l.maxRetries, l.maxRequestsPerConnection), 'cb_configure');
  }

  /** True when a unit was granted; false on overflow (the core counted it). */
  tryAcquire(kind: CbKindName): boolean {
    const r = this.#cs.exports.cb_try_acquire(this.#cs.address, CB_KIND[kind]);
    // Messages are built only on a refusal (these run per request: a template literal was a string each time).
    return (r < 0 ? check(r, `cb_try_acquire ${kind}`) : r) === 1;
  }

  /** Gives back a unit; returns the new count. @throws underflow when none was held. */
  release(kind: CbKindName): number {
    const r = this.#cs.exports.cb_release(this.#cs.address, CB_KIND[kind]);
    return r < 0 ? check(r, `cb_release ${kind}`) : r;
  }

  state(kind: CbKindName): 'closed' | 'open' {
    return check(this.#cs.exports.cb_state(this.#cs.address, CB_KIND[kind]), `cb_state ${kind}`) === 0 ? 'closed' : 'open';
  }

  active(kind: CbKindName): number {
    return check(this.#cs.exports.cb_active(this.#cs.address, CB_KIND[kind]), `cb_active ${kind}`);
  }

  remaining(kind: CbKindName): number {
    return this.#cs.exports.cb_remaining(this.#cs.address, CB_KIND[kind]);
  }

  /** Whether a connection that has served `served` requests may take another. */
  connectionReusable(served: number): boolean {
    return check(this.#cs.exports.cb_connection_reusable(this.#cs.address, served), 'cb_connection_reusable') === 1;
  }
}
