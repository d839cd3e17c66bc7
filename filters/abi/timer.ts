// Timers and clocks (spec: "Timers", "Clocks"): the tick that drives a root context's timed
// work (fault delays) and the host's clock.
import { outA, readA64 } from './out';

// proxy_set_tick_period_milliseconds(tick_period) → status
// OK. 0 disables the timer. Applies to the current context's root context.
@external("env", "proxy_set_tick_period_milliseconds")
declare function proxy_set_tick_period_milliseconds(periodMs: u32): u32;

export function setTickPeriodMilliseconds(periodMs: u32): u32 {
  return proxy_set_tick_period_milliseconds(periodMs);
}

// proxy_get_current_time_nanoseconds(return_time) → status
// OK; INVALID_MEMORY_ACCESS. Hosts may freeze the time during one callback.
@external("env", "proxy_get_current_time_nanoseconds")
declare function proxy_get_current_time_nanoseconds(returnTime: usize): u32;

/** The host's current time in nanoseconds (0 if the host refused). */
export function currentTimeNanoseconds(): u64 {
  store<u64>(outA(), 0);
  proxy_get_current_time_nanoseconds(outA());
  return readA64();
}
