// Upstream-policy exports (cluster state, outlier detection, circuit breaker, retry decisions
// and backoff): the numeric calls the host makes with a cluster-state region (`c`, formatted by
// cluster_state_init) or a retry policy record (`p`, accepted by retry_policy_check). Negative
// results are UpstreamStatus codes (upstream-status.ts); times are ms as f64 from the host's clock.
import {
  HEADER_SIZE, SLOT_SIZE, COUNTER_COUNT, CS_COUNTERS, CS_CB_LIMITS, CS_CB_COUNTS, MAX_SLOTS,
  clusterStateSize, clusterStateInit, clusterStateCopy, slotOpen, slotClose, slotState, slotActive,
  checkSlot, slotAt, isClusterState, bump, CS_RANDOM, CS_EJECTIONS_ACTIVE,
} from './cluster-state';
import { outlierConfigure, outlierDisable, outlierReport, outlierTick, outlierIsEjected, outlierPanic } from './outlier';
import { cbConfigure, cbTryAcquire, cbRelease, cbState, cbActive, cbRemaining, cbConnectionReusable } from './circuit-breaker';
import { retryPolicyCheck, retryDecide, RETRY_POLICY_SIZE, RETRY_POLICY_MAGIC, RP_BACKOFF_BASE_MS, RP_BACKOFF_MAX_MS, MAX_RETRIABLE_CODES } from './retry';
import { backoffMs } from './backoff';
import { UpstreamStatus } from './upstream-status';

// ── Cluster state ──────────────────────────────────────────────────────────────────────────

/** Bytes of a cluster-state region with `capacity` endpoint slots (0: capacity above 65,536). */
export function cluster_state_size(capacity: u32): u32 {
  return clusterStateSize(capacity);
}

/** Formats the region at `c` (cluster_state_size(capacity) bytes); `seed` seeds the backoff PRNG (0: a fixed seed). Ok or BadValue. */
export function cluster_state_init(c: usize, capacity: u32, seed: u32): i32 {
  return clusterStateInit(c, capacity, seed);
}

/** Reseeds the backoff PRNG of `c` (0: a fixed seed). Ok or BadMagic. */
export function cluster_state_seed(c: usize, seed: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  store<u32>(c + CS_RANDOM, seed == 0 ? 0x9e3779b9 : seed);
  return UpstreamStatus.Ok;
}

/** Copies region `from` into a larger region `to` of `capacity` slots (to grow a cluster). Ok, BadMagic or BadValue. */
export function cluster_state_copy(from: usize, to: usize, capacity: u32): i32 {
  return clusterStateCopy(from, to, capacity);
}

/** Puts a new endpoint into free slot `slot`. Ok, BadMagic, BadSlot or BadSlotState. */
export function slot_open(c: usize, slot: u32): i32 {
  return slotOpen(c, slot);
}

/** Frees slot `slot` (endpoint removed; an ejection it held is released). Ok, BadMagic, BadSlot or BadSlotState. */
export function slot_close(c: usize, slot: u32): i32 {
  return slotClose(c, slot);
}

/** SlotState of `slot` (0 free, 1 healthy, 2 ejected) or a negative status. */
export function slot_state(c: usize, slot: u32): i32 {
  return slotState(c, slot);
}

/** Adds `delta` to the endpoint's active requests (clamped at 0); the new count or a negative status. */
export function slot_active(c: usize, slot: u32, delta: i32): i32 {
  return slotActive(c, slot, delta);
}

/** The value of counter `id` (Counter order), as f64 (exact below 2^53), or -1 on a bad call. */
export function upstream_counter(c: usize, id: u32): f64 {
  if (!isClusterState(c) || id >= COUNTER_COUNT) return -1;
  return <f64>load<u64>(c + <usize>CS_COUNTERS + <usize>id * 8);
}

/** Adds one to counter `id` (for host-side events: retry limit exceeded, retry success). Ok, BadMagic or BadKind. */
export function upstream_counter_inc(c: usize, id: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (id >= COUNTER_COUNT) return UpstreamStatus.BadKind;
  bump(c, id);
  return UpstreamStatus.Ok;
}

/** The absolute address of slot `slot` (for the host's read-only views, e.g. /clusters), or 0. */
export function slot_address(c: usize, slot: u32): usize {
  return checkSlot(c, slot) == UpstreamStatus.Ok ? slotAt(c, slot) : 0;
}

/** Layout constants, so the host can check at load time that both sides agree. */
export function upstream_layout(which: i32): u32 {
  switch (which) {
    case 0: return HEADER_SIZE;
    case 1: return SLOT_SIZE;
    case 2: return COUNTER_COUNT;
    case 3: return CS_COUNTERS;
    case 4: return CS_CB_LIMITS;
    case 5: return CS_CB_COUNTS;
    case 6: return RETRY_POLICY_SIZE;
    case 7: return RETRY_POLICY_MAGIC;
    case 8: return MAX_RETRIABLE_CODES;
    case 9: return MAX_SLOTS;
    default: return 0;
  }
}

// ── Outlier detection ──────────────────────────────────────────────────────────────────────

/** Turns outlier detection on (see outlier.ts for each parameter). Ok, BadMagic or BadValue. */
export function outlier_configure(
  c: usize, consecutive5xx: u32, consecutiveGateway: u32, consecutiveLocal: u32, flags: u32,
  maxEjectionPercent: u32, minHealthPercent: u32, intervalMs: f64, baseEjectionMs: f64, maxEjectionMs: f64,
): i32 {
  return outlierConfigure(c, consecutive5xx, consecutiveGateway, consecutiveLocal, flags, maxEjectionPercent, minHealthPercent, intervalMs, baseEjectionMs, maxEjectionMs);
}

/** Turns outlier detection off; every ejected endpoint returns. Ok or BadMagic. */
export function outlier_disable(c: usize): i32 {
  return outlierDisable(c);
}

/** Records an outcome (HTTP status 100..599 or OutlierResult 1..4) at time `now`; 1 when it ejected the endpoint, 0 when not, or a negative status. */
export function outlier_report(c: usize, slot: u32, outcome: i32, now: f64): i32 {
  return outlierReport(c, slot, outcome, now);
}

/** The interval tick at `now`: the number of endpoints unejected, or a negative status. */
export function outlier_tick(c: usize, now: f64): i32 {
  return outlierTick(c, now);
}

/** 1 when the endpoint in `slot` is ejected, else 0, or a negative status. */
export function outlier_is_ejected(c: usize, slot: u32): i32 {
  return outlierIsEjected(c, slot);
}

/** The ejections_active gauge, or a negative status. */
export function outlier_ejections_active(c: usize): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  return <i32>load<u32>(c + CS_EJECTIONS_ACTIVE);
}

/** 1 when the cluster is in panic (healthy % below minHealthPercent): balance over all endpoints. */
export function outlier_panic(c: usize): i32 {
  return outlierPanic(c);
}

// ── Circuit breaker ────────────────────────────────────────────────────────────────────────

/** Sets the limits: connections, pending, requests, retries (CbKind order), maxRequestsPerConnection. */
export function cb_configure(c: usize, maxConnections: u32, maxPending: u32, maxRequests: u32, maxRetries: u32, maxRequestsPerConnection: u32): i32 {
  return cbConfigure(c, maxConnections, maxPending, maxRequests, maxRetries, maxRequestsPerConnection);
}

/** 1 when a unit of `kind` was granted, 0 on overflow (counted), or a negative status. */
export function cb_try_acquire(c: usize, kind: u32): i32 {
  return cbTryAcquire(c, kind);
}

/** Releases a unit of `kind`: the new count, or Underflow / a negative status. */
export function cb_release(c: usize, kind: u32): i32 {
  return cbRelease(c, kind);
}

/** CbState of `kind`: 0 closed (room left), 1 open (at the limit), or a negative status. */
export function cb_state(c: usize, kind: u32): i32 {
  return cbState(c, kind);
}

/** Units of `kind` in use, or a negative status. */
export function cb_active(c: usize, kind: u32): i32 {
  return cbActive(c, kind);
}

/** limit − in use for `kind` (Envoy's remaining_* gauges), or -1 on a bad call. */
export function cb_remaining(c: usize, kind: u32): f64 {
  return cbRemaining(c, kind);
}

/** 1 when a connection that served `served` requests may be reused, 0 when it must close. */
export function cb_connection_reusable(c: usize, served: u32): i32 {
  return cbConnectionReusable(c, served);
}

// ── Retry ──────────────────────────────────────────────────────────────────────────────────

/** Checks a retry policy record written by the host. Ok, BadMagic or BadValue. */
export function retry_policy_check(p: usize): i32 {
  return retryPolicyCheck(p);
}

/** RetryDecision for attempt `attempt` that ended with `outcome` (see retry.ts), or a negative status. */
export function retry_decide(p: usize, attempt: u32, outcome: i32, status: i32, grpcStatus: i32, flags: u32, elapsedMs: f64, routeTimeoutMs: f64): i32 {
  return retryDecide(p, attempt, outcome, status, grpcStatus, flags, elapsedMs, routeTimeoutMs);
}

/** The jittered wait (ms) before retry number `retry` (1 = first), drawn from `c`'s PRNG; -1 on a bad call. */
export function retry_backoff(c: usize, p: usize, retry: u32): f64 {
  if (!isClusterState(c) || retryPolicyCheck(p) != UpstreamStatus.Ok || retry == 0) return -1;
  return <f64>backoffMs(c, load<u32>(p + RP_BACKOFF_BASE_MS), load<u32>(p + RP_BACKOFF_MAX_MS), retry);
}
