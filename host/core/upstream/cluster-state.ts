// The upstream state of one cluster in one core (assembly/upstream/cluster-state.ts): a region
// the core formats, whose endpoint slots stay stable across config versions, holding the
// outlier detector's and the circuit breaker's state, the backoff PRNG and the counters.
import type { Core } from '../wasm.js';
import { CB_KINDS, CircuitBreaker } from './circuit-breaker.js';
import { OutlierDetector } from './outlier.js';
import { UpstreamLayout, upstreamExports, type ClusterRegion, type UpstreamExports } from './upstream-exports.js';
import { check, UpstreamPolicyError } from './upstream-status.js';

// ── Layout (mirrors assembly/upstream/cluster-state.ts; checked once per core) ───────────────

const HEADER_SIZE = 256;
const SLOT_SIZE = 48;
const CS_COUNTERS = 112;
const CS_CB_LIMITS = 72;
const CS_CB_COUNTS = 92;
const MAX_SLOTS = 65536;
const SL_CONSECUTIVE_5XX = 4;
const SL_CONSECUTIVE_GATEWAY = 8;
const SL_CONSECUTIVE_LOCAL = 12;
const SL_EJECT_BACKOFF = 16;
const SL_NUM_EJECTIONS = 20;
const SL_LAST_EJECTION_MS = 24;
const SL_ACTIVE = 40;
const U32_MAX = 0xffffffff;

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

const LAYOUT = [
  [UpstreamLayout.HeaderSize, HEADER_SIZE],
  [UpstreamLayout.SlotSize, SLOT_SIZE],
  [UpstreamLayout.CounterCount, UPSTREAM_COUNTERS.length],
  [UpstreamLayout.Counters, CS_COUNTERS],
  [UpstreamLayout.CircuitBreakerLimits, CS_CB_LIMITS],
  [UpstreamLayout.CircuitBreakerCounts, CS_CB_COUNTS],
  [UpstreamLayout.MaxSlots, MAX_SLOTS],
] as const;

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
export class ClusterState implements ClusterRegion {
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
    this.#x = upstreamExports(core, 'cluster-state', LAYOUT);
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
    const r = this.#x.slot_active(this.#ptr, slot, delta);
    // The message is built only on a refusal (per attempt, twice: a template literal was a string each time).
    return r < 0 ? check(r, `slot_active ${slot}`) : r;
  }

  /** The jittered wait before retry number `retry` (1 = first) under `policy` (a retry policy record), from this cluster's PRNG. */
  backoff(policy: { readonly address: number }, retry: number): number {
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
