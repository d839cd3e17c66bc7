// The host's side of the fault-injection decisions (assembly/fault/): one xorshift32 state per
// core instance (per thread) and the numeric call that draws one request's faults.
import type { Core, CoreExports } from '../wasm.js';

/** The fault exports of core.wasm (assembly/fault/index.ts). */
interface FaultExports extends CoreExports {
  fault_decide(rng: number, delayPerMillion: number, abortPerMillion: number): number;
}

/** Mirrors assembly/fault/fault.ts. */
export const PER_MILLION = 1_000_000;
export const FAULT_DELAY = 1;
export const FAULT_ABORT = 2;

/** Istio's percentage (0..100, fractions allowed) as the parts per million Envoy's fault filter compares. */
export function percentPerMillion(percentage: number): number {
  if (!(percentage > 0)) return 0;
  if (percentage >= 100) return PER_MILLION;
  return Math.round(percentage * 10_000);
}

/** Draws faults with one state in the core's memory (never freed: it lives as long as the core). */
export class FaultDice {
  readonly #exports: FaultExports;
  readonly #rng: number;

  /** `seed` fixes the sequence (tests); absent, a random one is taken. */
  constructor(core: Core, seed?: number) {
    this.#exports = core.exports as FaultExports;
    this.#rng = core.exports.alloc(4);
    const s = (seed ?? Math.floor(Math.random() * 0x100000000)) >>> 0;
    core.u32[this.#rng >>> 2] = s === 0 ? 1 : s;
  }

  /** FAULT_DELAY and/or FAULT_ABORT for one request (delay drawn first, then abort). */
  decide(delayPerMillion: number, abortPerMillion: number): number {
    return this.#exports.fault_decide(this.#rng, delayPerMillion, abortPerMillion);
  }
}
