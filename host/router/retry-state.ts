// The retry bookkeeping of one downstream request (Envoy's RetryStateImpl): the attempt number,
// the circuit breaker's retry unit held between a retry decision and the next attempt's end,
// and the retry stats, over the core's decision (RetryPolicy) and the cluster's state.
import type { ClusterState } from '../core/upstream/cluster-state.js';
import type { AttemptResult, RetryDecisionName, RetryPolicy } from '../core/upstream/retry.js';

/** What onAttemptEnd decided. */
export interface AttemptDecision {
  decision: RetryDecisionName;
  backoffMs: number;
}

/** onAttemptEnd's result, one per process: read at once by the caller, overwritten by the next call (no object per attempt). */
const DECISION: AttemptDecision = { decision: 'not_retriable', backoffMs: 0 };

function decided(decision: RetryDecisionName, backoffMs: number): AttemptDecision {
  DECISION.decision = decision;
  DECISION.backoffMs = backoffMs;
  return DECISION;
}

/** The retry bookkeeping of one downstream request: attempt number, retry slot, stats. */
export class RetryState {
  readonly #policy: RetryPolicy;
  readonly #cluster: ClusterState;
  #attempt = 1;
  #holdsRetry = false;

  constructor(policy: RetryPolicy, cluster: ClusterState) {
    this.#policy = policy;
    this.#cluster = cluster;
  }

  /** The current attempt number: the value of x-envoy-attempt-count on the upstream request. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The current attempt ended as `r`: whether to retry, and after how long. On 'retry' the
   * attempt number advances and a circuit-breaker retry unit is held until the next call or
   * finish(); 'overflow' means the breaker refused it (upstream_rq_retry_overflow, flag UO).
   */
  onAttemptEnd(r: AttemptResult): Readonly<AttemptDecision> {
    const d = this.#policy.decide(this.#attempt, r);
    const wasRetry = this.#release();
    if (d === 'not_retriable' && wasRetry) this.#cluster.count('upstream_rq_retry_success');
    if (d === 'limit_exceeded') this.#cluster.count('upstream_rq_retry_limit_exceeded');
    if (d !== 'retry') return decided(d, 0);
    if (!this.#cluster.breaker.tryAcquire('retry')) return decided('overflow', 0);
    this.#holdsRetry = true;
    const backoffMs = this.#cluster.backoff(this.#policy, this.#attempt);
    this.#attempt++;
    return decided('retry', backoffMs);
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
