// Retry decisions (assembly/upstream/retry.ts): the retry policy record's layout and retryOn
// bits, how an attempt ended, and a version's policy records loaded into a core's memory, each
// route's decide() being the core's answer for one attempt.
import type { Core } from '../wasm.js';
import { MAX_RETRIABLE_CODES, RETRY_ON_CONDITIONS, type RetryOnName, type RetryPolicySpec } from '../../model/retry-policy.js';
import { UpstreamLayout, upstreamExports, type UpstreamExports } from './upstream-exports.js';
import { check, UpstreamPolicyError, UpstreamStatus } from './upstream-status.js';

// ── Policy record (mirrors assembly/upstream/retry.ts; size, magic and code count checked once
// per core; host/compile/retry-policies.ts writes records with these) ───────────────────────
export const RETRY_POLICY_SIZE = 96;
export const RETRY_POLICY_MAGIC = 0x50524d57;
export const RP_MAGIC = 0;
export const RP_RETRIES = 4;
export const RP_RETRY_ON = 8;
export const RP_PER_TRY_TIMEOUT_MS = 12;
export const RP_BACKOFF_BASE_MS = 16;
export const RP_BACKOFF_MAX_MS = 20;
export const RP_CODE_COUNT = 24;
export const RP_CODES = 32;

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

/**
 * One config version's retry policy records in a core's memory: the bytes host/compile wrote
 * (compileRetryPolicies), copied in with one allocation and checked record by record by the
 * core, then shared by every route that names a record. Freed as a whole with the version.
 */
export class RetryPolicies {
  readonly #x: UpstreamExports;
  readonly #policies: RetryPolicy[] = [];
  #ptr: number;
  #released = false;

  private constructor(x: UpstreamExports, ptr: number) {
    this.#x = x;
    this.#ptr = ptr;
  }

  /**
   * Copies `records` (whole RETRY_POLICY_SIZE-byte records) into `core`'s memory and has the
   * core check each one. @throws UpstreamPolicyError when the core refuses one (the memory is
   * freed first), or 'bad_value' when the bytes are not whole records.
   */
  static load(core: Core, records: Uint8Array): RetryPolicies {
    const x = upstreamExports(core, 'retry', LAYOUT);
    if (records.length % RETRY_POLICY_SIZE !== 0) {
      throw new UpstreamPolicyError('bad_value', 0, `retry policy records: ${records.length} bytes is not a whole number of ${RETRY_POLICY_SIZE}-byte records`);
    }
    const count = records.length / RETRY_POLICY_SIZE;
    const ptr = count === 0 ? 0 : x.alloc(records.length);
    if (count > 0) core.u8.set(records, ptr); // after alloc, which may have grown memory
    for (let i = 0; i < count; i++) {
      const status = x.retry_policy_check(ptr + i * RETRY_POLICY_SIZE);
      if (status !== UpstreamStatus.Ok) {
        x.free(ptr);
        check(status, `retry policy record ${i} refused by the core`);
      }
    }
    const set = new RetryPolicies(x, ptr);
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    for (let i = 0; i < count; i++) set.#policies.push(new RetryPolicy(set, ptr + i * RETRY_POLICY_SIZE, decodeRecord(dv, i * RETRY_POLICY_SIZE)));
    return set;
  }

  get count(): number {
    return this.#policies.length;
  }

  /** Record `i`'s policy. */
  at(i: number): RetryPolicy {
    const p = this.#policies[i];
    if (p === undefined) throw new UpstreamPolicyError('bad_value', 0, `retry policy record ${i} of ${this.#policies.length}`);
    return p;
  }

  /** @internal the exports, for the policies' decisions. */
  get exports(): UpstreamExports {
    if (this.#released) throw new UpstreamPolicyError('released', 0, 'retry policy');
    return this.#x;
  }

  /** Frees every record (the version that used them is retired). */
  free(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#ptr !== 0) this.#x.free(this.#ptr);
    this.#ptr = 0;
  }
}

/** The RetryPolicySpec a record holds (what the core decides with; for the data path and tests). */
function decodeRecord(dv: DataView, at: number): RetryPolicySpec {
  const bits = dv.getUint32(at + RP_RETRY_ON, true);
  const codes: number[] = [];
  for (let i = 0, n = dv.getUint32(at + RP_CODE_COUNT, true); i < n; i++) codes.push(dv.getUint32(at + RP_CODES + i * 4, true));
  return {
    retries: dv.getUint32(at + RP_RETRIES, true),
    retryOn: RETRY_ON_CONDITIONS.filter((name) => (bits & RETRY_ON[name]) !== 0),
    retriableStatusCodes: codes,
    perTryTimeoutMs: dv.getUint32(at + RP_PER_TRY_TIMEOUT_MS, true),
    backoffBaseMs: dv.getUint32(at + RP_BACKOFF_BASE_MS, true),
    backoffMaxMs: dv.getUint32(at + RP_BACKOFF_MAX_MS, true),
  };
}

/** A route's retry policy: one record of a loaded RetryPolicies. */
export class RetryPolicy {
  /** The record's contents (perTryTimeoutMs arms the data path's per-try timer). */
  readonly spec: Readonly<RetryPolicySpec>;
  /** The record's address in linear memory. */
  readonly address: number;
  readonly #set: RetryPolicies;

  /** @internal made by RetryPolicies.load. */
  constructor(set: RetryPolicies, address: number, spec: RetryPolicySpec) {
    this.#set = set;
    this.address = address;
    this.spec = spec;
  }

  /** The core's decision for attempt number `attempt` (1 = first try) that ended as `r`. @throws 'released' once its version was freed. */
  decide(attempt: number, r: AttemptResult): Exclude<RetryDecisionName, 'overflow'> {
    const x = this.#set.exports;
    const flags = (r.responseStarted ? 1 : 0) | (r.bodyNotBuffered ? 2 : 0) | (r.rateLimited ? 4 : 0);
    const d = x.retry_decide(this.address, attempt, AttemptOutcome[r.outcome], r.status ?? 0, r.grpcStatus ?? -1, flags, r.elapsedMs ?? 0, r.routeTimeoutMs ?? 0);
    // The message is built only on a refusal: a template literal here was a string per attempt.
    return RETRY_DECISIONS[d < 0 ? check(d, `retry decision for attempt ${attempt}`) : d]!;
  }
}
