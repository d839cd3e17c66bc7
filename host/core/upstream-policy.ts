// The host's side of the upstream-policy boundary (assembly/upstream/): typed classes over the
// core's numeric calls for retry decisions and backoff, outlier detection, circuit breaking, and
// the per-cluster state region whose endpoint slots stay stable across config versions.
import type { Core, CoreExports } from './wasm.js';
import type { CircuitBreakerLimits } from '../model/circuit-breaker-limits.js';
import type { OutlierSettings } from '../model/outlier-settings.js';
import { MAX_RETRIABLE_CODES, type RetryOnName, type RetryPolicySpec } from '../model/retry-policy.js';

/** The upstream-policy exports of core.wasm (assembly/upstream/index.ts). */
interface UpstreamExports extends CoreExports {
  cluster_state_size(capacity: number): number;
  cluster_state_init(c: number, capacity: number, seed: number): number;
  cluster_state_seed(c: number, seed: number): number;
  cluster_state_copy(from: number, to: number, capacity: number): number;
  slot_open(c: number, slot: number): number;
  slot_close(c: number, slot: number): number;
  slot_state(c: number, slot: number): number;
  slot_active(c: number, slot: number, delta: number): number;
  slot_address(c: number, slot: number): number;
  upstream_counter(c: number, id: number): number;
  upstream_counter_inc(c: number, id: number): number;
  upstream_layout(which: number): number;
  outlier_configure(c: number, c5xx: number, cGateway: number, cLocal: number, flags: number, maxEjectionPercent: number, minHealthPercent: number, intervalMs: number, baseEjectionMs: number, maxEjectionMs: number): number;
  outlier_disable(c: number): number;
  outlier_report(c: number, slot: number, outcome: number, now: number): number;
  outlier_tick(c: number, now: number): number;
  outlier_is_ejected(c: number, slot: number): number;
  outlier_ejections_active(c: number): number;
  outlier_panic(c: number): number;
  cb_configure(c: number, maxConnections: number, maxPending: number, maxRequests: number, maxRetries: number, maxRequestsPerConnection: number): number;
  cb_try_acquire(c: number, kind: number): number;
  cb_release(c: number, kind: number): number;
  cb_state(c: number, kind: number): number;
  cb_active(c: number, kind: number): number;
  cb_remaining(c: number, kind: number): number;
  cb_connection_reusable(c: number, served: number): number;
  retry_policy_check(p: number): number;
  retry_decide(p: number, attempt: number, outcome: number, status: number, grpcStatus: number, flags: number, elapsedMs: number, routeTimeoutMs: number): number;
  retry_backoff(c: number, p: number, retry: number): number;
}

// ── Statuses and errors ────────────────────────────────────────────────────────────────────

/** Mirrors UpstreamStatus in assembly/upstream/upstream-status.ts. */
export const UpstreamStatus = {
  Ok: 0,
  BadMagic: -1,
  BadSlot: -2,
  BadSlotState: -3,
  BadKind: -4,
  Underflow: -5,
  BadValue: -6,
} as const;

export type UpstreamPolicyErrorCode =
  | 'bad_magic' | 'bad_slot' | 'bad_slot_state' | 'bad_kind' | 'underflow' | 'bad_value'
  | 'layout_mismatch' | 'released' | 'invalid_setting';

const STATUS_CODE: Record<number, UpstreamPolicyErrorCode> = {
  [UpstreamStatus.BadMagic]: 'bad_magic',
  [UpstreamStatus.BadSlot]: 'bad_slot',
  [UpstreamStatus.BadSlotState]: 'bad_slot_state',
  [UpstreamStatus.BadKind]: 'bad_kind',
  [UpstreamStatus.Underflow]: 'underflow',
  [UpstreamStatus.BadValue]: 'bad_value',
};

const REASON: Record<UpstreamPolicyErrorCode, string> = {
  bad_magic: 'the address is not a cluster state region or retry policy record',
  bad_slot: 'the endpoint slot is beyond the region capacity',
  bad_slot_state: 'the endpoint slot is free where an endpoint was expected, or in use where a free slot was expected',
  bad_kind: 'unknown circuit-breaker kind, outcome kind or counter',
  underflow: 'released more than was acquired',
  bad_value: 'a setting is out of range',
  layout_mismatch: 'core.wasm and host/core/upstream-policy.ts disagree on the upstream layout; rebuild both',
  released: 'the cluster state or retry policy was already freed',
  invalid_setting: 'a value is out of its allowed range',
};

export class UpstreamPolicyError extends Error {
  readonly code: UpstreamPolicyErrorCode;
  /** The core's status (0 when the host found the problem). */
  readonly status: number;
  constructor(code: UpstreamPolicyErrorCode, status: number, detail: string) {
    super(`${detail}: ${REASON[code]} (${code})`);
    this.name = 'UpstreamPolicyError';
    this.code = code;
    this.status = status;
  }
}

function check(status: number, what: string): number {
  if (status < 0) throw new UpstreamPolicyError(STATUS_CODE[status] ?? 'bad_value', status, what);
  return status;
}

// ── Layout (mirrors assembly/upstream/cluster-state.ts; checked once per core) ───────────────

const HEADER_SIZE = 256;
const SLOT_SIZE = 48;
const CS_COUNTERS = 112;
const RETRY_POLICY_SIZE = 96;
const RETRY_POLICY_MAGIC = 0x50524d57;
const MAX_SLOTS = 65536;
const SL_CONSECUTIVE_5XX = 4;
const SL_CONSECUTIVE_GATEWAY = 8;
const SL_CONSECUTIVE_LOCAL = 12;
const SL_EJECT_BACKOFF = 16;
const SL_NUM_EJECTIONS = 20;
const SL_LAST_EJECTION_MS = 24;
const SL_ACTIVE = 40;

/** Per-cluster counters in the core's Counter order, under Envoy's stat names. Declared once. */
export const UPSTREAM_COUNTERS = [
  'outlier_detection.ejections_total',
  'outlier_detection.ejections_enforced_total',
  'outlier_detection.ejections_overflow',
  'outlier_detection.ejections_detected_consecutive_5xx',
  'outlier_detection.ejections_enforced_consecutive_5xx',
  'outlier_detection.ejections_detected_consecutive_gateway_failure',
  'outlier_detection.ejections_enforced_consecutive_gateway_failure',
  'outlier_detection.ejections_detected_consecutive_local_origin_failure',
  'outlier_detection.ejections_enforced_consecutive_local_origin_failure',
  'upstream_cx_overflow',
  'upstream_rq_pending_overflow',
  'upstream_rq_retry_overflow',
  'upstream_rq_retry',
  'upstream_rq_retry_limit_exceeded',
  'upstream_rq_retry_success',
] as const;
export type UpstreamCounterName = (typeof UPSTREAM_COUNTERS)[number];
const COUNTER_ID = new Map<string, number>(UPSTREAM_COUNTERS.map((n, i) => [n, i]));

const checkedCores = new WeakSet<Core>();

function upstreamExports(core: Core): UpstreamExports {
  const x = core.exports as UpstreamExports;
  if (checkedCores.has(core)) return x;
  const expected = [HEADER_SIZE, SLOT_SIZE, UPSTREAM_COUNTERS.length, CS_COUNTERS, 72, 92, RETRY_POLICY_SIZE, RETRY_POLICY_MAGIC, MAX_RETRIABLE_CODES, MAX_SLOTS];
  for (let i = 0; i < expected.length; i++) {
    if (typeof x.upstream_layout !== 'function' || x.upstream_layout(i) >>> 0 !== expected[i]) {
      throw new UpstreamPolicyError('layout_mismatch', 0, `upstream layout field ${i}`);
    }
  }
  checkedCores.add(core);
  return x;
}

// ── Retry policy ───────────────────────────────────────────────────────────────────────────

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
    const x = upstreamExports(core);
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
  onAttemptEnd(r: AttemptResult): { decision: RetryDecisionName; backoffMs: number } {
    const d = this.#policy.decide(this.#attempt, r);
    const wasRetry = this.#release();
    if (d === 'not_retriable' && wasRetry) this.#cluster.count('upstream_rq_retry_success');
    if (d === 'limit_exceeded') this.#cluster.count('upstream_rq_retry_limit_exceeded');
    if (d !== 'retry') return { decision: d, backoffMs: 0 };
    if (!this.#cluster.breaker.tryAcquire('retry')) return { decision: 'overflow', backoffMs: 0 };
    this.#holdsRetry = true;
    const backoffMs = this.#cluster.backoff(this.#policy, this.#attempt);
    this.#attempt++;
    return { decision: 'retry', backoffMs };
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

// ── Outlier detection ──────────────────────────────────────────────────────────────────────

/** Local-origin results for OutlierDetector.report (values mirror OutlierResult). */
export const OutlierResult = { ConnectSuccess: 1, ConnectFailed: 2, Timeout: 3, Reset: 4 } as const;
export type OutlierResultName = keyof typeof OutlierResult;

/** A cluster's outlier detector (the core's state in the cluster's region). */
export class OutlierDetector {
  readonly #cs: ClusterState;

  constructor(cs: ClusterState) {
    this.#cs = cs;
  }

  /** Applies settings (null: detection off, every ejected endpoint returns). Slot state is kept. */
  configure(s: OutlierSettings | null): void {
    const x = this.#cs.exports;
    if (s === null) {
      check(x.outlier_disable(this.#cs.address), 'outlier_disable');
      return;
    }
    const flags = (s.enforceConsecutive5xx ? 1 : 0) | (s.enforceConsecutiveGatewayFailure ? 2 : 0) | (s.enforceConsecutiveLocalOriginFailure ? 4 : 0)
      | (s.splitExternalLocalOriginErrors ? 8 : 0) | (s.alwaysEjectOneHost ? 16 : 0);
    check(x.outlier_configure(this.#cs.address, s.consecutive5xx, s.consecutiveGatewayFailure, s.consecutiveLocalOriginFailure, flags,
      s.maxEjectionPercent, s.minHealthPercent, s.intervalMs, s.baseEjectionTimeMs, s.maxEjectionTimeMs), 'outlier_configure');
  }

  /**
   * Reports one outcome for the endpoint in `slot` at time `now` (ms): an HTTP status from the
   * response headers, or a local-origin result (report 'ConnectSuccess' when the request got
   * its connection; it matters with splitExternalLocalOriginErrors). True when it ejected the endpoint.
   */
  report(slot: number, outcome: number | OutlierResultName, now: number): boolean {
    const code = typeof outcome === 'number' ? outcome : OutlierResult[outcome];
    return check(this.#cs.exports.outlier_report(this.#cs.address, slot, code, now), `outlier_report slot ${slot}`) === 1;
  }

  /** The interval tick at `now`; returns how many endpoints came back. */
  tick(now: number): number {
    return check(this.#cs.exports.outlier_tick(this.#cs.address, now), 'outlier_tick');
  }

  isEjected(slot: number): boolean {
    return check(this.#cs.exports.outlier_is_ejected(this.#cs.address, slot), `outlier_is_ejected slot ${slot}`) === 1;
  }

  get ejectionsActive(): number {
    return check(this.#cs.exports.outlier_ejections_active(this.#cs.address), 'outlier_ejections_active');
  }

  /** True when the balancer must ignore ejections (healthy % below minHealthPercent). */
  get panic(): boolean {
    return check(this.#cs.exports.outlier_panic(this.#cs.address), 'outlier_panic') === 1;
  }
}

// ── Circuit breaker ────────────────────────────────────────────────────────────────────────

export const CB_KINDS = ['connection', 'pending', 'request', 'retry'] as const;
export type CbKindName = (typeof CB_KINDS)[number];
const CB_KIND: Record<CbKindName, number> = { connection: 0, pending: 1, request: 2, retry: 3 };

const U32_MAX = 0xffffffff;

/** A cluster's circuit breaker (limits and counts in the cluster's region). */
export class CircuitBreaker {
  readonly #cs: ClusterState;

  constructor(cs: ClusterState) {
    this.#cs = cs;
  }

  configure(l: CircuitBreakerLimits): void {
    check(this.#cs.exports.cb_configure(this.#cs.address, l.maxConnections, l.maxPendingRequests, l.maxRequests, l.maxRetries, l.maxRequestsPerConnection), 'cb_configure');
  }

  /** True when a unit was granted; false on overflow (the core counted it). */
  tryAcquire(kind: CbKindName): boolean {
    return check(this.#cs.exports.cb_try_acquire(this.#cs.address, CB_KIND[kind]), `cb_try_acquire ${kind}`) === 1;
  }

  /** Gives back a unit; returns the new count. @throws underflow when none was held. */
  release(kind: CbKindName): number {
    return check(this.#cs.exports.cb_release(this.#cs.address, CB_KIND[kind]), `cb_release ${kind}`);
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

// ── Cluster state: stable slots across config versions ───────────────────────────────────────

/** One endpoint's view for /clusters and tests. */
export interface EndpointSlotInfo {
  address: string;
  slot: number;
  state: 'healthy' | 'ejected';
  activeRequests: number;
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  ejectionMultiplier: number;
  timesEjected: number;
  lastEjectionMs: number;
}

let seedCounter = 0;

/**
 * The upstream state of one cluster (by name) in one core: a region the core formats, plus the
 * host's map from endpoint address ("ip:port") to slot. `sync` is called with each new config
 * version's endpoint list: endpoints that remain keep their slot (and so their ejection state,
 * consecutive counters and active requests), removed ones free theirs, new ones take a free slot.
 */
export class ClusterState {
  readonly name: string;
  readonly outlier: OutlierDetector;
  readonly breaker: CircuitBreaker;
  readonly #core: Core;
  readonly #x: UpstreamExports;
  #ptr: number;
  #capacity: number;
  readonly #slots = new Map<string, number>();
  readonly #free: number[] = [];

  constructor(core: Core, name: string, opts: { capacity?: number; seed?: number } = {}) {
    this.#core = core;
    this.#x = upstreamExports(core);
    this.name = name;
    this.#capacity = Math.max(1, opts.capacity ?? 8);
    this.#ptr = this.#allocRegion(this.#capacity);
    check(this.#x.cluster_state_init(this.#ptr, this.#capacity, opts.seed ?? ((Math.random() * U32_MAX) ^ ++seedCounter) >>> 0), `cluster ${name} init`);
    for (let i = this.#capacity - 1; i >= 0; i--) this.#free.push(i);
    this.outlier = new OutlierDetector(this);
    this.breaker = new CircuitBreaker(this);
  }

  #allocRegion(capacity: number): number {
    const size = this.#x.cluster_state_size(capacity);
    if (size === 0) throw new UpstreamPolicyError('invalid_setting', 0, `cluster ${this.name}: more than ${MAX_SLOTS} endpoints`);
    return this.#x.alloc(size);
  }

  /** @internal the exports, for the detector and breaker. */
  get exports(): UpstreamExports {
    if (this.#ptr === 0) throw new UpstreamPolicyError('released', 0, `cluster ${this.name}`);
    return this.#x;
  }

  /** The region's address: it changes when the region grows, so read it at each call. */
  get address(): number {
    return this.#ptr;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The slot of endpoint `address`, or undefined. */
  slotOf(address: string): number | undefined {
    return this.#slots.get(address);
  }

  /**
   * Makes the slots match `addresses` (one config version's endpoints, in its order) and
   * returns the slot of each, by index: the map from that version's endpoint index to slot.
   */
  sync(addresses: readonly string[]): Int32Array {
    const keep = new Set(addresses);
    if (keep.size !== addresses.length) {
      const dup = addresses.find((a, i) => addresses.indexOf(a) !== i);
      throw new UpstreamPolicyError('invalid_setting', 0, `cluster ${this.name}: endpoint ${dup} listed twice`);
    }
    for (const [address, slot] of this.#slots) {
      if (keep.has(address)) continue;
      check(this.#x.slot_close(this.#ptr, slot), `cluster ${this.name} close ${address}`);
      this.#slots.delete(address);
      this.#free.push(slot);
    }
    const needed = addresses.filter((a) => !this.#slots.has(a)).length;
    if (needed > this.#free.length) this.#grow(this.#slots.size + needed);
    // Lowest free slot first, so slot numbers stay small and predictable.
    this.#free.sort((a, b) => b - a);
    const map = new Int32Array(addresses.length);
    addresses.forEach((address, i) => {
      let slot = this.#slots.get(address);
      if (slot === undefined) {
        slot = this.#free.pop()!;
        check(this.#x.slot_open(this.#ptr, slot), `cluster ${this.name} open ${address}`);
        this.#slots.set(address, slot);
      }
      map[i] = slot;
    });
    return map;
  }

  #grow(minimum: number): void {
    let capacity = this.#capacity;
    while (capacity < minimum) capacity *= 2;
    const to = this.#allocRegion(capacity);
    check(this.#x.cluster_state_copy(this.#ptr, to, capacity), `cluster ${this.name} grow`);
    this.#x.free(this.#ptr);
    for (let i = capacity - 1; i >= this.#capacity; i--) this.#free.push(i);
    this.#ptr = to;
    this.#capacity = capacity;
  }

  /** Adds `delta` to the endpoint's active requests; returns the new count. */
  active(slot: number, delta: number): number {
    return check(this.#x.slot_active(this.#ptr, slot, delta), `slot_active ${slot}`);
  }

  /** The jittered wait before retry number `retry` (1 = first) under `policy`, from this cluster's PRNG. */
  backoff(policy: RetryPolicy, retry: number): number {
    const ms = this.#x.retry_backoff(this.#ptr, policy.address, retry);
    if (ms < 0) throw new UpstreamPolicyError('bad_value', 0, `retry_backoff retry ${retry}`);
    return ms;
  }

  /** Reseeds the backoff PRNG (tests: deterministic waits). */
  seed(seed: number): void {
    check(this.#x.cluster_state_seed(this.#ptr, seed >>> 0), 'cluster_state_seed');
  }

  /** Adds one to a host-side counter (e.g. upstream_rq_retry_success). */
  count(name: UpstreamCounterName): void {
    check(this.#x.upstream_counter_inc(this.#ptr, COUNTER_ID.get(name)!), `counter ${name}`);
  }

  /** Every counter by Envoy name, plus the gauges (ejections_active, circuit-breaker *_open and remaining_*). */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    UPSTREAM_COUNTERS.forEach((name, id) => {
      out[name] = this.#x.upstream_counter(this.#ptr, id);
    });
    out['outlier_detection.ejections_active'] = this.outlier.ejectionsActive;
    // Envoy's circuit-breaker gauge names per resource: [open gauge, remaining gauge].
    const gauges = { connection: ['cx_open', 'remaining_cx'], pending: ['rq_pending_open', 'remaining_pending'], request: ['rq_open', 'remaining_rq'], retry: ['rq_retry_open', 'remaining_retries'] } as const;
    for (const kind of CB_KINDS) {
      out[`circuit_breakers.default.${gauges[kind][0]}`] = this.breaker.state(kind) === 'open' ? 1 : 0;
      out[`circuit_breakers.default.${gauges[kind][1]}`] = this.breaker.remaining(kind);
    }
    return out;
  }

  /** Each endpoint's slot state, for GET /clusters and tests. */
  endpoints(): EndpointSlotInfo[] {
    const out: EndpointSlotInfo[] = [];
    for (const [address, slot] of this.#slots) {
      const at = this.#x.slot_address(this.#ptr, slot);
      const dv = this.#core.view;
      out.push({
        address, slot,
        state: this.#x.slot_state(this.#ptr, slot) === 2 ? 'ejected' : 'healthy',
        activeRequests: dv.getUint32(at + SL_ACTIVE, true),
        consecutive5xx: dv.getUint32(at + SL_CONSECUTIVE_5XX, true),
        consecutiveGatewayFailure: dv.getUint32(at + SL_CONSECUTIVE_GATEWAY, true),
        consecutiveLocalOriginFailure: dv.getUint32(at + SL_CONSECUTIVE_LOCAL, true),
        ejectionMultiplier: dv.getUint32(at + SL_EJECT_BACKOFF, true),
        timesEjected: dv.getUint32(at + SL_NUM_EJECTIONS, true),
        lastEjectionMs: dv.getFloat64(at + SL_LAST_EJECTION_MS, true),
      });
    }
    return out.sort((a, b) => a.slot - b.slot);
  }

  /** Frees the region (the cluster left the config). */
  free(): void {
    if (this.#ptr !== 0) this.#x.free(this.#ptr);
    this.#ptr = 0;
  }
}

/** Every cluster's state in one core, by cluster name; survives config versions. */
export class ClusterStates {
  readonly #core: Core;
  readonly #byName = new Map<string, ClusterState>();

  constructor(core: Core) {
    this.#core = core;
  }

  /** The state of cluster `name`, created on first use. */
  get(name: string): ClusterState {
    let cs = this.#byName.get(name);
    if (!cs) {
      cs = new ClusterState(this.#core, name);
      this.#byName.set(name, cs);
    }
    return cs;
  }

  /** Frees the state of clusters not in `names` (after a reload removed them). */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const [name, cs] of this.#byName) {
      if (keep.has(name)) continue;
      cs.free();
      this.#byName.delete(name);
    }
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }
}
