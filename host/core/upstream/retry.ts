// Retry decisions (assembly/upstream/retry.ts): the retry policy record's layout and retryOn
// bits, how an attempt ended, and a route's policy record in a core's memory, whose decide()
// is the core's answer for one attempt.
import type { Core } from '../wasm.js';
import { MAX_RETRIABLE_CODES, type RetryOnName, type RetryPolicySpec } from '../../model/retry-policy.js';
import { UpstreamLayout, upstreamExports, type UpstreamExports } from './upstream-exports.js';
import { check, UpstreamPolicyError, UpstreamStatus } from './upstream-status.js';

// ── Policy record (mirrors assembly/upstream/retry.ts; checked once per core) ───────────────
export const RETRY_POLICY_SIZE = 96;
export const RETRY_POLICY_MAGIC = 0x50524d57;

const LAYOUT = [
  [UpstreamLayout.RetryPolicySize, RETRY_POLICY_SIZE],
  [UpstreamLayout.RetryPolicyMagic, RETRY_POLICY_MAGIC],
  [UpstreamLayout.MaxRetriableCodes, MAX_RETRIABLE_CODES],
] as const;

/** retryOn conditions by Istio/Envoy name; bits mirror RetryOn in assembly/upstream/retry.ts. */
export const RETRY_ON: Readonly<Record<RetryOnName, number>> = {
  '5xx': 1 << 0,
  'gateway-error': 1 << 1,
  reset: 1 << 2,
  'connect-failure': 1 << 3,
  'refused-stream': 1 << 4,
  'retriable-4xx': 1 << 5,
  'retriable-status-codes': 1 << 6,
  cancelled: 1 << 7,
  'deadline-exceeded': 1 << 8,
  'resource-exhausted': 1 << 9,
  unavailable: 1 << 10,
  internal: 1 << 11,
};

/** How an attempt ended; values mirror AttemptOutcome in assembly/upstream/retry.ts. */
export const AttemptOutcome = {
  Response: 0,
  ConnectFailure: 1,
  ResetBeforeHeaders: 2,
  ResetAfterHeaders: 3,
  PerTryTimeout: 4,
  RefusedStream: 5,
  Overflow: 6,
} as const;
export type AttemptOutcomeName = keyof typeof AttemptOutcome;

/** Decisions; index = the core's RetryDecision value. */
export const RETRY_DECISIONS = ['retry', 'not_retriable', 'disabled', 'limit_exceeded', 'response_started', 'body_not_buffered', 'route_timeout', 'rate_limited'] as const;
export type RetryDecisionName = (typeof RETRY_DECISIONS)[number] | 'overflow';

/** One attempt's end as the host saw it. */
export interface AttemptResult {
  outcome: AttemptOutcomeName;
  /** HTTP status of a Response. */
  status?: number;
  /** grpc-status of a trailers-only gRPC response. */
  grpcStatus?: number;
  /** Response bytes already went downstream. */
  responseStarted?: boolean;
  /** The request body was streamed beyond the host's buffer. */
  bodyNotBuffered?: boolean;
  /** The response carries x-envoy-ratelimited. */
  rateLimited?: boolean;
  /** ms since the request started, and the route timeout (0 or absent: none). */
  elapsedMs?: number;
  routeTimeoutMs?: number;
}

/** A route's retry policy record in a core's memory. */
export class RetryPolicy {
  readonly spec: Readonly<RetryPolicySpec>;
  readonly #x: UpstreamExports;
  #ptr: number;

  private constructor(x: UpstreamExports, ptr: number, spec: RetryPolicySpec) {
    this.#x = x;
    this.#ptr = ptr;
    this.spec = spec;
  }

  /** Writes `spec` into `core`'s memory and has the core check it. */
  static encode(core: Core, spec: RetryPolicySpec): RetryPolicy {
    const x = upstreamExports(core, 'retry', LAYOUT);
    let bits = 0;
    for (const name of spec.retryOn) bits |= RETRY_ON[name];
    const u32 = [spec.retries, spec.perTryTimeoutMs, spec.backoffBaseMs, spec.backoffMaxMs, spec.retriableStatusCodes.length, ...spec.retriableStatusCodes];
    for (const v of u32) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UpstreamPolicyError('invalid_setting', 0, `retry policy value ${v}`);
    }
    if (spec.retriableStatusCodes.length > MAX_RETRIABLE_CODES) throw new UpstreamPolicyError('invalid_setting', 0, `more than ${MAX_RETRIABLE_CODES} retriable status codes`);
    const ptr = x.alloc(RETRY_POLICY_SIZE);
    const dv = core.view;
    dv.setUint32(ptr, RETRY_POLICY_MAGIC, true);
    dv.setUint32(ptr + 4, spec.retries, true);
    dv.setUint32(ptr + 8, bits >>> 0, true);
    dv.setUint32(ptr + 12, spec.perTryTimeoutMs, true);
    dv.setUint32(ptr + 16, spec.backoffBaseMs, true);
    dv.setUint32(ptr + 20, spec.backoffMaxMs, true);
    dv.setUint32(ptr + 24, spec.retriableStatusCodes.length, true);
    dv.setUint32(ptr + 28, 0, true);
    for (let i = 0; i < MAX_RETRIABLE_CODES; i++) dv.setUint32(ptr + 32 + i * 4, spec.retriableStatusCodes[i] ?? 0, true);
    const status = x.retry_policy_check(ptr);
    if (status !== UpstreamStatus.Ok) {
      x.free(ptr);
      check(status, 'retry policy refused by the core');
    }
    return new RetryPolicy(x, ptr, { ...spec, retryOn: [...spec.retryOn], retriableStatusCodes: [...spec.retriableStatusCodes] });
  }

  get address(): number {
    return this.#ptr;
  }

  /** The core's decision for attempt number `attempt` (1 = first try) that ended as `r`. */
  decide(attempt: number, r: AttemptResult): Exclude<RetryDecisionName, 'overflow'> {
    if (this.#ptr === 0) throw new UpstreamPolicyError('released', 0, 'retry policy');
    const flags = (r.responseStarted ? 1 : 0) | (r.bodyNotBuffered ? 2 : 0) | (r.rateLimited ? 4 : 0);
    const d = this.#x.retry_decide(this.#ptr, attempt, AttemptOutcome[r.outcome], r.status ?? 0, r.grpcStatus ?? -1, flags, r.elapsedMs ?? 0, r.routeTimeoutMs ?? 0);
    return RETRY_DECISIONS[check(d, `retry decision for attempt ${attempt}`)]!;
  }

  free(): void {
    if (this.#ptr !== 0) this.#x.free(this.#ptr);
    this.#ptr = 0;
  }
}
