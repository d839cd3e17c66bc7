// Fault injection exports: the host keeps one xorshift32 state (4 bytes from `alloc`) per
// thread and asks the core for each request's faults.
import { decideFault } from './fault';

/**
 * The faults for one request with the state at `rng`: bit 0 delay, bit 1 abort (see
 * assembly/fault/fault.ts). Numerators above 1,000,000 inject always.
 */
export function fault_decide(rng: usize, delayPerMillion: u32, abortPerMillion: u32): u32 {
  return decideFault(rng, delayPerMillion, abortPerMillion);
}
