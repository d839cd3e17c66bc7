// The retry bookkeeping of one downstream request (Envoy's RetryStateImpl): the attempt number,
// the circuit breaker's retry unit held between a retry decision and the next attempt's end,
// and the retry stats, over the core's decision (RetryPolicy) and the cluster's state.
import type { ClusterState } from '../core/upstream/cluster-state.js';
import type { AttemptResult, RetryDecisionName, RetryPolicy } from '../core/upstream/retry.js';

/**
 * The retry bookkeeping of one downstream request: attempt number, retry slot, stats. A router
 * keeps one for all its requests (router-pool.ts): begin() starts the next request's.
 */
export class RetryState {
  #policy: RetryPolicy;
  #cluster: ClusterState;
  #attempt = 1;
  #holdsRetry = false;
  #backoffMs = 0;

  constructor(policy: RetryPolicy, cluster: ClusterState) {
    this.#policy = policy;
    this.#cluster = cluster;
  }

  /**
   * Starts over for another request, as a new RetryState(policy, cluster) would: a retry unit the
   * previous request still held goes back first (its finish() was due; calling it twice is safe).
   */
  begin(policy: RetryPolicy, cluster: ClusterState): void {
    this.#release();
    this.#policy = policy;
    this.#cluster = cluster;
    this.#attempt = 1;
    this.#backoffMs = 0;
  }

  /** The current attempt number: the value of x-envoy-attempt-count on the upstream request. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The current attempt ended as `r`: whether to retry (after backoffMs). On 'retry' the attempt
   * number advances and a circuit-breaker retry unit is held until the next call or finish();
   * 'overflow' means the breaker refused it (upstream_rq_retry_overflow, flag UO). The decision
   * alone is returned, the backoff kept: no object per attempt (one escaped wherever the
   * inliner left this call out of the router's, i.e. on every request).
   */
  onAttemptEnd(r: AttemptResult): RetryDecisionName {
    const d = this.#policy.decide(this.#attempt, r);
    const wasRetry = this.#release();
    this.#backoffMs = 0;
    if (d === 'not_retriable' && wasRetry) this.#cluster.count('upstream_rq_retry_success');
    if (d === 'limit_exceeded') this.#cluster.count('upstream_rq_retry_limit_exceeded');
    if (d !== 'retry') return d;
    if (!this.#cluster.breaker.tryAcquire('retry')) return 'overflow';
    this.#holdsRetry = true;
    this.#backoffMs = this.#cluster.backoff(this.#policy, this.#attempt);
    this.#attempt++;
    return 'retry';
  }

  /** The backoff before the retry the last onAttemptEnd decided (0 for any other decision). */
  get backoffMs(): number {
    return this.#backoffMs;
  }

  /** The request is over: gives back a retry unit still held. */
  finish(): void {
    this.#release();
  }

  #release(): boolean {
    if (!this.#holdsRetry) return false;
    this.#holdsRetry = false;
    this.#cluster.breaker.release('retry');
    return true;
  }
}
