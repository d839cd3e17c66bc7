// The per-cluster upstream state region: outlier-detection config and per-endpoint slots,
// circuit-breaker limits and counts, Envoy-named counters, the backoff PRNG. The host allocates
// one region per cluster NAME and maps each endpoint ADDRESS to a stable slot, so this state
// outlives route-table versions (a reload that keeps an endpoint keeps its ejection state).
//
// ── Layout (mirrored by host/core/upstream/cluster-state.ts; checked at load via upstream_layout) ─
// Header, HEADER_SIZE bytes, at `c` (from `alloc`, 16-byte aligned); little-endian:
//     0 u32 magic 0x53434D57 ("WMCS")     4 u32 slot capacity
//     8 u32 slots in use (hosts)         12 u32 ejections active (gauge)
//    16 u32 xorshift32 state (backoff)   20 u32 outlier mode (OutlierMode)
//    24 u32 consecutive5xx threshold     28 u32 consecutiveGateway threshold
//    32 u32 consecutiveLocalOrigin thr.  36 u32 outlier flags (OUTLIER_FLAG_*)
//    40 u32 maxEjectionPercent           44 u32 minHealthPercent
//    48 f64 interval ms                  56 f64 base ejection ms      64 f64 max ejection ms
//    72 u32 × 5 circuit-breaker limits (CbKind order, then maxRequestsPerConnection)
//    92 u32 × 4 circuit-breaker counts (CbKind order)               108 u32 reserved
//   112 u64 × COUNTER_COUNT counters (Counter order)
// Then `capacity` slots of SLOT_SIZE bytes:
//     0 u32 SlotState   4 u32 consecutive 5xx   8 u32 consecutive gateway errors
//    12 u32 consecutive local-origin failures    16 u32 ejection time multiplier (Envoy's
//    ejectTimeBackoff)  20 u32 times ejected    24 f64 last ejection ms
//    32 f64 last unejection ms (NaN: never unejected)   40 u32 active requests   44 u32 0
import { UpstreamStatus } from './upstream-status';

export const CLUSTER_MAGIC: u32 = 0x53434d57;
export const HEADER_SIZE: u32 = 256;
export const SLOT_SIZE: u32 = 48;
/** A bound on slots so that size arithmetic stays far from overflow (Envoy has no such limit; 64 Ki hosts per cluster is plenty for a sidecar). */
export const MAX_SLOTS: u32 = 65536;

export const CS_MAGIC: u32 = 0;
export const CS_CAPACITY: u32 = 4;
export const CS_IN_USE: u32 = 8;
export const CS_EJECTIONS_ACTIVE: u32 = 12;
export const CS_RANDOM: u32 = 16;
export const CS_OUTLIER_MODE: u32 = 20;
export const CS_CONSECUTIVE_5XX: u32 = 24;
export const CS_CONSECUTIVE_GATEWAY: u32 = 28;
export const CS_CONSECUTIVE_LOCAL: u32 = 32;
export const CS_OUTLIER_FLAGS: u32 = 36;
export const CS_MAX_EJECTION_PERCENT: u32 = 40;
export const CS_MIN_HEALTH_PERCENT: u32 = 44;
export const CS_INTERVAL_MS: u32 = 48;
export const CS_BASE_EJECTION_MS: u32 = 56;
export const CS_MAX_EJECTION_MS: u32 = 64;
export const CS_CB_LIMITS: u32 = 72;
export const CS_MAX_REQUESTS_PER_CONNECTION: u32 = 88;
export const CS_CB_COUNTS: u32 = 92;
export const CS_COUNTERS: u32 = 112;

export const SL_STATE: u32 = 0;
export const SL_CONSECUTIVE_5XX: u32 = 4;
export const SL_CONSECUTIVE_GATEWAY: u32 = 8;
export const SL_CONSECUTIVE_LOCAL: u32 = 12;
export const SL_EJECT_BACKOFF: u32 = 16;
export const SL_NUM_EJECTIONS: u32 = 20;
export const SL_LAST_EJECTION_MS: u32 = 24;
export const SL_LAST_UNEJECTION_MS: u32 = 32;
export const SL_ACTIVE: u32 = 40;

/** An endpoint slot's state. Values are part of the layout. */
export const enum SlotState {
  /** No endpoint: the host released the slot (or never opened it). */
  Free = 0,
  /** An endpoint that takes traffic. */
  Healthy = 1,
  /** An endpoint ejected by outlier detection (Envoy's FAILED_OUTLIER_CHECK). */
  Ejected = 2,
}

/** Per-cluster counters, in memory order; names (Envoy's) in host/core/upstream/cluster-state.ts. Append, never renumber. */
export const enum Counter {
  EjectionsTotal = 0,
  EjectionsEnforcedTotal = 1,
  EjectionsOverflow = 2,
  EjectionsDetectedConsecutive5xx = 3,
  EjectionsEnforcedConsecutive5xx = 4,
  EjectionsDetectedConsecutiveGatewayFailure = 5,
  EjectionsEnforcedConsecutiveGatewayFailure = 6,
  EjectionsDetectedConsecutiveLocalOriginFailure = 7,
  EjectionsEnforcedConsecutiveLocalOriginFailure = 8,
  UpstreamCxOverflow = 9,
  UpstreamRqPendingOverflow = 10,
  UpstreamRqRetryOverflow = 11,
  UpstreamRqRetry = 12,
  UpstreamRqRetryLimitExceeded = 13,
  UpstreamRqRetrySuccess = 14,
}
export const COUNTER_COUNT: u32 = 15;

// The counters must fit between CS_COUNTERS and the first slot.
// (CS_COUNTERS + 8 * COUNTER_COUNT = 232 <= HEADER_SIZE.)

@inline export function slotAt(c: usize, slot: u32): usize {
  return c + <usize>HEADER_SIZE + <usize>slot * <usize>SLOT_SIZE;
}

@inline export function u32Of(c: usize, off: u32): u32 {
  return load<u32>(c + <usize>off);
}

@inline export function isClusterState(c: usize): bool {
  return load<u32>(c + <usize>CS_MAGIC) == CLUSTER_MAGIC;
}

/** Ok when `slot` is inside the region's capacity, else the status to return. */
@inline export function checkSlot(c: usize, slot: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (slot >= u32Of(c, CS_CAPACITY)) return UpstreamStatus.BadSlot;
  return UpstreamStatus.Ok;
}

/** Adds one to counter `id` (u64, so it does not wrap in any realistic lifetime). */
@inline export function bump(c: usize, id: u32): void {
  const p = c + <usize>CS_COUNTERS + <usize>id * 8;
  store<u64>(p, load<u64>(p) + 1);
}

/** Bytes of a region holding `capacity` slots (0 when capacity is out of range). */
export function clusterStateSize(capacity: u32): u32 {
  if (capacity > MAX_SLOTS) return 0;
  return HEADER_SIZE + capacity * SLOT_SIZE;
}

/**
 * Formats a fresh region: every slot free, outlier detection off, circuit-breaker limits at
 * Istio's defaults (2^32-1 for connections, pending, requests and retries: Istio raises
 * Envoy's defaults of 1024/1024/1024/3), maxRequestsPerConnection 0 (unlimited), counters 0.
 */
export function clusterStateInit(c: usize, capacity: u32, seed: u32): i32 {
  if (capacity > MAX_SLOTS) return UpstreamStatus.BadValue;
  memory.fill(c, 0, <usize>clusterStateSize(capacity));
  store<u32>(c + CS_MAGIC, CLUSTER_MAGIC);
  store<u32>(c + CS_CAPACITY, capacity);
  store<u32>(c + CS_RANDOM, seed == 0 ? 0x9e3779b9 : seed);
  for (let k: u32 = 0; k < 4; k++) store<u32>(c + CS_CB_LIMITS + k * 4, 0xffffffff);
  store<u32>(c + CS_MAX_REQUESTS_PER_CONNECTION, 0);
  return UpstreamStatus.Ok;
}

/**
 * Copies region `from` into `to`, formatted for `capacity` >= from's capacity (the host grows
 * a cluster's region this way when it has more endpoints than slots). `to` must not overlap.
 */
export function clusterStateCopy(from: usize, to: usize, capacity: u32): i32 {
  if (!isClusterState(from)) return UpstreamStatus.BadMagic;
  const old = u32Of(from, CS_CAPACITY);
  if (capacity < old || capacity > MAX_SLOTS) return UpstreamStatus.BadValue;
  memory.copy(to, from, <usize>clusterStateSize(old));
  memory.fill(slotAt(to, old), 0, <usize>(capacity - old) * <usize>SLOT_SIZE);
  store<u32>(to + CS_CAPACITY, capacity);
  return UpstreamStatus.Ok;
}

/** Puts an endpoint into free slot `slot`: healthy, no history (Envoy: a new host monitor). */
export function slotOpen(c: usize, slot: u32): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  const s = slotAt(c, slot);
  if (load<u32>(s + SL_STATE) != SlotState.Free) return UpstreamStatus.BadSlotState;
  memory.fill(s, 0, <usize>SLOT_SIZE);
  store<u32>(s + SL_STATE, SlotState.Healthy);
  store<f64>(s + SL_LAST_UNEJECTION_MS, NaN);
  store<u32>(c + CS_IN_USE, u32Of(c, CS_IN_USE) + 1);
  return UpstreamStatus.Ok;
}

/** Frees slot `slot` (its endpoint left the cluster); an ejected endpoint stops counting as active. */
export function slotClose(c: usize, slot: u32): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  const s = slotAt(c, slot);
  const state = load<u32>(s + SL_STATE);
  if (state == SlotState.Free) return UpstreamStatus.BadSlotState;
  // As Envoy's member-update callback: removing an ejected host releases its ejection.
  if (state == SlotState.Ejected) store<u32>(c + CS_EJECTIONS_ACTIVE, u32Of(c, CS_EJECTIONS_ACTIVE) - 1);
  store<u32>(s + SL_STATE, SlotState.Free);
  store<u32>(c + CS_IN_USE, u32Of(c, CS_IN_USE) - 1);
  return UpstreamStatus.Ok;
}

/** The SlotState of `slot`, or a negative UpstreamStatus. */
export function slotState(c: usize, slot: u32): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  return <i32>load<u32>(slotAt(c, slot) + SL_STATE);
}

/** Adds `delta` to the active requests of an endpoint in use, clamped to 0..2^31-1; returns the new count. */
export function slotActive(c: usize, slot: u32, delta: i32): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  const s = slotAt(c, slot);
  if (load<u32>(s + SL_STATE) == SlotState.Free) return UpstreamStatus.BadSlotState;
  const v = <i64>load<u32>(s + SL_ACTIVE) + <i64>delta;
  const next: u32 = v < 0 ? 0 : v > 0x7fffffff ? 0x7fffffff : <u32>v;
  store<u32>(s + SL_ACTIVE, next);
  return <i32>next;
}

/** xorshift32 over the region's random state: deterministic per seed, allocation-free. */
export function nextRandom(c: usize): u32 {
  let x = u32Of(c, CS_RANDOM);
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  store<u32>(c + CS_RANDOM, x);
  return x;
}
