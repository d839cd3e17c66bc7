// A cluster's outlier detector (assembly/upstream/outlier.ts): settings, outcomes, the interval
// tick, ejection and panic, all kept by the core in the cluster's state region.
import type { OutlierSettings } from '../../model/outlier-settings.js';
import type { ClusterRegion } from './upstream-exports.js';
import { check } from './upstream-status.js';

/** Local-origin results for OutlierDetector.report (values mirror OutlierResult). */
export const OutlierResult = { ConnectSuccess: 1, ConnectFailed: 2, Timeout: 3, Reset: 4 } as const;
export type OutlierResultName = keyof typeof OutlierResult;

/** A cluster's outlier detector (the core's state in the cluster's region). */
export class OutlierDetector {
  readonly #cs: ClusterRegion;

  constructor(cs: ClusterRegion) {
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
    const r = this.#cs.exports.outlier_report(this.#cs.address, slot, code, now);
    // The message only on failure: this runs twice per request (no string per call, as cb_try_acquire).
    return (r < 0 ? check(r, `outlier_report slot ${slot}`) : r) === 1;
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
