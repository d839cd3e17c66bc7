// Outlier detection for one cluster, Envoy's consecutive-error detectors (the ones Istio
// configures): consecutive 5xx, consecutive gateway errors (502/503/504) and consecutive
// local-origin failures, with ejection time = base × multiplier, maxEjectionPercent and
// minHealthPercent (panic). State lives in the cluster-state region (cluster-state.ts); time is
// always a parameter (ms), never read here, so tests drive it with a fake clock.
//
// Semantics follow Envoy's DetectorImpl (source/common/upstream/outlier_detection_impl.cc) as
// current Istio configures it (pilot applyOutlierDetection):
// - A detector fires when its counter REACHES the threshold (==, so 0 disables it); the firing
//   counter is reset after the ejection attempt, whatever its result. A host already ejected
//   does not fire again (its counters keep counting until it is unejected).
// - Ejection is immediate on the report that reaches the threshold (Envoy posts it to the main
//   thread; wasmesh is single-threaded per core, so there is no gap).
// - Ejected hosts return only at an interval tick, when min(base × multiplier, max) has passed
//   since the ejection; Envoy's jitter (max_ejection_time_jitter) is 0 by default and Istio
//   does not set it, so there is none here.
// - The multiplier grows by one per ejection (until base × multiplier ≥ max + base) and shrinks
//   by one at each tick that finds the host healthy at least one interval after its unejection.
// - Istio's doc says minHealthPercent "disables outlier detection"; what Istio actually does is
//   set Envoy's healthy_panic_threshold, where ejection bookkeeping goes on and only the load
//   balancer ignores health. wasmesh follows Envoy: outlier_panic() tells the balancer.
import {
  CS_IN_USE, CS_CAPACITY, CS_EJECTIONS_ACTIVE, CS_OUTLIER_MODE, CS_CONSECUTIVE_5XX,
  CS_CONSECUTIVE_GATEWAY, CS_CONSECUTIVE_LOCAL, CS_OUTLIER_FLAGS, CS_MAX_EJECTION_PERCENT,
  CS_MIN_HEALTH_PERCENT, CS_INTERVAL_MS, CS_BASE_EJECTION_MS, CS_MAX_EJECTION_MS,
  SL_STATE, SL_CONSECUTIVE_5XX, SL_CONSECUTIVE_GATEWAY, SL_CONSECUTIVE_LOCAL, SL_EJECT_BACKOFF,
  SL_NUM_EJECTIONS, SL_LAST_EJECTION_MS, SL_LAST_UNEJECTION_MS, SlotState, Counter,
  slotAt, u32Of, bump, checkSlot, isClusterState,
} from './cluster-state';
import { UpstreamStatus } from './upstream-status';

/** Whether the cluster has outlier detection. Off is the Null detector: reports change nothing. */
export const enum OutlierMode {
  Off = 0,
  On = 1,
}

/** Envoy's enforcing_consecutive_5xx = 100 (Istio: when consecutive5xxErrors > 0 or unset). */
export const OUTLIER_FLAG_ENFORCE_5XX: u32 = 1;
/** Envoy's enforcing_consecutive_gateway_failure = 100 (Istio: only when consecutiveGatewayErrors > 0). */
export const OUTLIER_FLAG_ENFORCE_GATEWAY: u32 = 2;
/** Envoy's enforcing_consecutive_local_origin_failure = 100 (its default). */
export const OUTLIER_FLAG_ENFORCE_LOCAL: u32 = 4;
/** split_external_local_origin_errors: local failures count apart instead of as 503/504. */
export const OUTLIER_FLAG_SPLIT_LOCAL: u32 = 8;
/** Envoy's always_eject_one_host (default false; Istio does not set it). */
export const OUTLIER_FLAG_ALWAYS_EJECT_ONE: u32 = 16;
export const OUTLIER_FLAGS_ALL: u32 = 31;

/** Local-origin results (outcome values below 100; 100..599 are HTTP status codes). */
export const enum OutlierResult {
  /** A connection for the request was obtained (Envoy's LocalOriginConnectSuccess). */
  ConnectSuccess = 1,
  /** Connecting failed or timed out (LocalOriginConnectFailed). */
  ConnectFailed = 2,
  /** No response within the (per-try) timeout (LocalOriginTimeout; 504 when not split). */
  Timeout = 3,
  /** The connection was reset; Envoy's router reports resets as LocalOriginConnectFailed. */
  Reset = 4,
}

/** What a report did. */
export const enum OutlierEvent {
  None = 0,
  /** This report ejected the endpoint: the balancer must stop choosing it. */
  Ejected = 1,
}

const enum Detector {
  Consecutive5xx = 0,
  ConsecutiveGateway = 1,
  ConsecutiveLocal = 2,
}

/**
 * Turns outlier detection on with the given (already defaulted) settings. Existing slot state
 * (ejections, multipliers, counters) is kept: Envoy would rebuild the detector when a cluster's
 * config changes, wasmesh keeps what it learned across every reload.
 */
export function outlierConfigure(
  c: usize, consecutive5xx: u32, consecutiveGateway: u32, consecutiveLocal: u32, flags: u32,
  maxEjectionPercent: u32, minHealthPercent: u32, intervalMs: f64, baseEjectionMs: f64, maxEjectionMs: f64,
): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if ((flags & ~OUTLIER_FLAGS_ALL) != 0 || maxEjectionPercent > 100 || minHealthPercent > 100) return UpstreamStatus.BadValue;
  // NaN fails every comparison below: refuse it along with non-positive durations (Istio: >= 1ms).
  if (!(intervalMs >= 1) || !(baseEjectionMs >= 1) || !(maxEjectionMs >= baseEjectionMs)) return UpstreamStatus.BadValue;
  store<u32>(c + CS_CONSECUTIVE_5XX, consecutive5xx);
  store<u32>(c + CS_CONSECUTIVE_GATEWAY, consecutiveGateway);
  store<u32>(c + CS_CONSECUTIVE_LOCAL, consecutiveLocal);
  store<u32>(c + CS_OUTLIER_FLAGS, flags);
  store<u32>(c + CS_MAX_EJECTION_PERCENT, maxEjectionPercent);
  store<u32>(c + CS_MIN_HEALTH_PERCENT, minHealthPercent);
  store<f64>(c + CS_INTERVAL_MS, intervalMs);
  store<f64>(c + CS_BASE_EJECTION_MS, baseEjectionMs);
  store<f64>(c + CS_MAX_EJECTION_MS, maxEjectionMs);
  store<u32>(c + CS_OUTLIER_MODE, OutlierMode.On);
  return UpstreamStatus.Ok;
}

/**
 * Turns outlier detection off (the DestinationRule lost its outlierDetection): every ejected
 * endpoint returns at once, as a cluster rebuilt without a detector would have none ejected.
 */
export function outlierDisable(c: usize): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  const n = u32Of(c, CS_CAPACITY);
  for (let i: u32 = 0; i < n; i++) {
    const s = slotAt(c, i);
    if (load<u32>(s + SL_STATE) == SlotState.Ejected) store<u32>(s + SL_STATE, SlotState.Healthy);
    store<u32>(s + SL_CONSECUTIVE_5XX, 0);
    store<u32>(s + SL_CONSECUTIVE_GATEWAY, 0);
    store<u32>(s + SL_CONSECUTIVE_LOCAL, 0);
    store<u32>(s + SL_EJECT_BACKOFF, 0);
  }
  store<u32>(c + CS_EJECTIONS_ACTIVE, 0);
  store<u32>(c + CS_OUTLIER_MODE, OutlierMode.Off);
  return UpstreamStatus.Ok;
}

@inline function enforced(flags: u32, d: Detector): bool {
  if (d == Detector.Consecutive5xx) return (flags & OUTLIER_FLAG_ENFORCE_5XX) != 0;
  if (d == Detector.ConsecutiveGateway) return (flags & OUTLIER_FLAG_ENFORCE_GATEWAY) != 0;
  return (flags & OUTLIER_FLAG_ENFORCE_LOCAL) != 0;
}

/** Envoy's ejectHost: the maxEjectionPercent check, then (if enforced) the ejection itself. */
function ejectHost(c: usize, s: usize, d: Detector, now: f64): i32 {
  const active = u32Of(c, CS_EJECTIONS_ACTIVE);
  const hosts = u32Of(c, CS_IN_USE);
  // Envoy: 100 × (active + 1) / hosts <= maxEjectionPercent, in doubles. With 3 hosts and the
  // default 10 % that is 33.3 > 10: no host is ever ejected unless always_eject_one_host is set
  // (Envoy's default is false and Istio does not set it), so wasmesh does the same.
  const percent = 100.0 * <f64>(active + 1) / <f64>hosts;
  let should = percent <= <f64>u32Of(c, CS_MAX_EJECTION_PERCENT);
  if ((u32Of(c, CS_OUTLIER_FLAGS) & OUTLIER_FLAG_ALWAYS_EJECT_ONE) != 0 && active == 0) should = true;
  if (!should) {
    bump(c, Counter.EjectionsOverflow);
    return OutlierEvent.None;
  }
  // Envoy's deprecated ejections_total counts consecutive-5xx (and success-rate) ejections that
  // passed the percentage check, enforced or not.
  if (d == Detector.Consecutive5xx) bump(c, Counter.EjectionsTotal);
  if (!enforced(u32Of(c, CS_OUTLIER_FLAGS), d)) return OutlierEvent.None;
  store<u32>(c + CS_EJECTIONS_ACTIVE, active + 1);
  bump(c, Counter.EjectionsEnforcedTotal);
  if (d == Detector.Consecutive5xx) bump(c, Counter.EjectionsEnforcedConsecutive5xx);
  else if (d == Detector.ConsecutiveGateway) bump(c, Counter.EjectionsEnforcedConsecutiveGatewayFailure);
  else bump(c, Counter.EjectionsEnforcedConsecutiveLocalOriginFailure);
  store<u32>(s + SL_STATE, SlotState.Ejected);
  store<u32>(s + SL_NUM_EJECTIONS, load<u32>(s + SL_NUM_EJECTIONS) + 1);
  store<f64>(s + SL_LAST_EJECTION_MS, now);
  const base = load<f64>(c + CS_BASE_EJECTION_MS);
  const backoff = load<u32>(s + SL_EJECT_BACKOFF);
  // Envoy stops growing the multiplier once base × multiplier reaches max + base.
  if (<f64>backoff * base < load<f64>(c + CS_MAX_EJECTION_MS) + base) store<u32>(s + SL_EJECT_BACKOFF, backoff + 1);
  return OutlierEvent.Ejected;
}

/** Envoy's onConsecutiveErrorWorker: detected stat, ejection attempt, reset of that counter. */
function fire(c: usize, s: usize, d: Detector, now: f64): i32 {
  if (load<u32>(s + SL_STATE) == SlotState.Ejected) return OutlierEvent.None;
  if (d == Detector.Consecutive5xx) bump(c, Counter.EjectionsDetectedConsecutive5xx);
  else if (d == Detector.ConsecutiveGateway) bump(c, Counter.EjectionsDetectedConsecutiveGatewayFailure);
  else bump(c, Counter.EjectionsDetectedConsecutiveLocalOriginFailure);
  const event = ejectHost(c, s, d, now);
  const off = d == Detector.Consecutive5xx ? SL_CONSECUTIVE_5XX : d == Detector.ConsecutiveGateway ? SL_CONSECUTIVE_GATEWAY : SL_CONSECUTIVE_LOCAL;
  store<u32>(s + off, 0);
  return event;
}

/** Increments a consecutive counter (saturating) and says whether it just reached `threshold`. */
@inline function reached(s: usize, off: u32, threshold: u32): bool {
  const v = load<u32>(s + off);
  const next = v == 0xffffffff ? v : v + 1;
  store<u32>(s + off, next);
  return next == threshold;
}

/** Envoy's putHttpResponseCode: gateway detector first, then 5xx; any non-5xx resets both. */
function putHttpStatus(c: usize, s: usize, code: i32, now: f64): i32 {
  let event: i32 = OutlierEvent.None;
  if (code >= 500 && code <= 599) {
    if (code >= 502 && code <= 504) {
      if (reached(s, SL_CONSECUTIVE_GATEWAY, u32Of(c, CS_CONSECUTIVE_GATEWAY))) event |= fire(c, s, Detector.ConsecutiveGateway, now);
    } else {
      store<u32>(s + SL_CONSECUTIVE_GATEWAY, 0);
    }
    if (reached(s, SL_CONSECUTIVE_5XX, u32Of(c, CS_CONSECUTIVE_5XX))) event |= fire(c, s, Detector.Consecutive5xx, now);
  } else {
    store<u32>(s + SL_CONSECUTIVE_5XX, 0);
    store<u32>(s + SL_CONSECUTIVE_GATEWAY, 0);
  }
  return event;
}

/**
 * Records one upstream outcome for endpoint `slot`: an HTTP status (100..599) from response
 * headers, or an OutlierResult. Returns OutlierEvent (Ejected when this report ejected it) or a
 * negative UpstreamStatus (BadMagic, BadSlot, BadSlotState for a free slot, BadKind).
 */
export function outlierReport(c: usize, slot: u32, outcome: i32, now: f64): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  const s = slotAt(c, slot);
  if (load<u32>(s + SL_STATE) == SlotState.Free) return UpstreamStatus.BadSlotState;
  const isStatus = outcome >= 100 && outcome <= 599;
  if (!isStatus && (outcome < OutlierResult.ConnectSuccess || outcome > OutlierResult.Reset)) return UpstreamStatus.BadKind;
  if (u32Of(c, CS_OUTLIER_MODE) == OutlierMode.Off) return OutlierEvent.None;
  if (isStatus) return putHttpStatus(c, s, outcome, now);

  if ((u32Of(c, CS_OUTLIER_FLAGS) & OUTLIER_FLAG_SPLIT_LOCAL) == 0) {
    // Not split: Envoy maps local-origin results to HTTP codes (connect failure and reset 503,
    // timeout 504) and ignores a connect success, which says nothing about the response.
    if (outcome == OutlierResult.ConnectSuccess) return OutlierEvent.None;
    return putHttpStatus(c, s, outcome == OutlierResult.Timeout ? 504 : 503, now);
  }
  if (outcome == OutlierResult.ConnectSuccess) {
    store<u32>(s + SL_CONSECUTIVE_LOCAL, 0);
    return OutlierEvent.None;
  }
  if (reached(s, SL_CONSECUTIVE_LOCAL, u32Of(c, CS_CONSECUTIVE_LOCAL))) return fire(c, s, Detector.ConsecutiveLocal, now);
  return OutlierEvent.None;
}

/**
 * The interval timer (Envoy's onIntervalTimer), called by the host every `interval` ms with the
 * current time: unejects each endpoint whose ejection time has passed (resetting its consecutive
 * counters) and lowers the multiplier of endpoints healthy for at least one interval since their
 * last unejection. Returns how many endpoints it unejected, or a negative UpstreamStatus.
 */
export function outlierTick(c: usize, now: f64): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (u32Of(c, CS_OUTLIER_MODE) == OutlierMode.Off) return 0;
  const n = u32Of(c, CS_CAPACITY);
  const base = load<f64>(c + CS_BASE_EJECTION_MS);
  const max = load<f64>(c + CS_MAX_EJECTION_MS);
  const interval = load<f64>(c + CS_INTERVAL_MS);
  let unejected: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = slotAt(c, i);
    if (load<u32>(s + SL_STATE) != SlotState.Ejected) continue;
    const time = Math.min(base * <f64>load<u32>(s + SL_EJECT_BACKOFF), max);
    if (time <= now - load<f64>(s + SL_LAST_EJECTION_MS)) {
      store<u32>(s + SL_STATE, SlotState.Healthy);
      store<u32>(c + CS_EJECTIONS_ACTIVE, u32Of(c, CS_EJECTIONS_ACTIVE) - 1);
      // Envoy resets all three so a counter close to its threshold cannot re-eject on a few errors.
      store<u32>(s + SL_CONSECUTIVE_5XX, 0);
      store<u32>(s + SL_CONSECUTIVE_GATEWAY, 0);
      store<u32>(s + SL_CONSECUTIVE_LOCAL, 0);
      store<f64>(s + SL_LAST_UNEJECTION_MS, now);
      unejected++;
    }
  }
  for (let i: u32 = 0; i < n; i++) {
    const s = slotAt(c, i);
    if (load<u32>(s + SL_STATE) != SlotState.Healthy) continue;
    const last = load<f64>(s + SL_LAST_UNEJECTION_MS);
    // NaN (never unejected) fails the comparison: no decrement, as Envoy's empty optional.
    if (now - last >= interval) {
      const b = load<u32>(s + SL_EJECT_BACKOFF);
      if (b != 0) store<u32>(s + SL_EJECT_BACKOFF, b - 1);
    }
  }
  return unejected;
}

/** 1 when endpoint `slot` is ejected, 0 when not (or free), or a negative UpstreamStatus. */
export function outlierIsEjected(c: usize, slot: u32): i32 {
  const ok = checkSlot(c, slot);
  if (ok != UpstreamStatus.Ok) return ok;
  return load<u32>(slotAt(c, slot) + SL_STATE) == SlotState.Ejected ? 1 : 0;
}

/**
 * 1 when the cluster is in panic (Envoy's healthy_panic_threshold, which Istio sets to
 * minHealthPercent): fewer than minHealthPercent % of its endpoints are healthy, so the balancer
 * must use all of them, ejected or not. Strictly below, as Envoy: 0 % never panics. 0 when
 * outlier detection is off (Istio sets the threshold only with outlierDetection).
 */
export function outlierPanic(c: usize): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (u32Of(c, CS_OUTLIER_MODE) == OutlierMode.Off) return 0;
  const hosts = u32Of(c, CS_IN_USE);
  const healthy = hosts - u32Of(c, CS_EJECTIONS_ACTIVE);
  const percent = hosts == 0 ? 0.0 : 100.0 * <f64>healthy / <f64>hosts;
  return percent < <f64>u32Of(c, CS_MIN_HEALTH_PERCENT) ? 1 : 0;
}
