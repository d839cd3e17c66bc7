// Fault injection decisions (Istio's HTTPFaultInjection as Envoy's fault filter draws them):
// per request a delay draw, then an independent abort draw, each `numerator` parts per million
// against `random % 1,000,000` as Envoy compares them. One implementation for the native host
// (host/http/filters/fault.ts through host/core/fault/fault.ts) and the proxy-wasm fault filter
// (filters/fault), so both paths inject the same faults for the same draws.

/** Parts per million: the denominator of every fault percentage (Envoy's FractionalPercent MILLION). */
export const PER_MILLION: u32 = 1000000;

/** Bit set in decideFault's result: delay this request. */
export const FAULT_DELAY: u32 = 1;
/** Bit set in decideFault's result: answer this request with the abort status. */
export const FAULT_ABORT: u32 = 2;

/**
 * The next draw in 0..PER_MILLION-1 from the xorshift32 state (one u32) at `rng`. A zero state
 * would stay zero forever: it is replaced by a fixed odd seed first.
 */
export function faultDraw(rng: usize): u32 {
  let x = load<u32>(rng);
  if (x == 0) x = 0x9e3779b9;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  store<u32>(rng, x);
  return x % PER_MILLION;
}

/**
 * One request's faults: FAULT_DELAY and/or FAULT_ABORT. The delay is drawn first, then the abort,
 * each only when its numerator is not 0, so 0 never and 1,000,000 always injects (no draw is
 * spent on a fault the route does not have).
 */
export function decideFault(rng: usize, delayPerMillion: u32, abortPerMillion: u32): u32 {
  let r: u32 = 0;
  if (delayPerMillion > 0 && faultDraw(rng) < delayPerMillion) r |= FAULT_DELAY;
  if (abortPerMillion > 0 && faultDraw(rng) < abortPerMillion) r |= FAULT_ABORT;
  return r;
}
