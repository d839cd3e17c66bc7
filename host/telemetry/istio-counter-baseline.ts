// Envoy's /reset_counters for Istio's metrics: in Envoy they are stats like any other, so the
// reset zeroes istio_requests_total (a counter) and leaves the histograms alone (Envoy resets
// counters only). As for Envoy's own stats (host/runtime/admin-sources.ts), the values at the
// reset are remembered and subtracted when read: the registries of the data-path threads are
// never touched.
import type { IstioSnapshot } from './istio-metrics.js';

export class IstioCounterBaseline {
  #base = new Map<string, number>();

  reset(snapshot: IstioSnapshot): void {
    this.#base = new Map(snapshot.series.map((s) => [s.labels, s.requests]));
  }

  apply(snapshot: IstioSnapshot): IstioSnapshot {
    if (this.#base.size === 0) return snapshot;
    return {
      overflow: snapshot.overflow,
      series: snapshot.series.map((s) => {
        const base = this.#base.get(s.labels);
        // A count below its baseline restarted (a registry rebuilt): it shows its own value.
        return base === undefined || s.requests < base ? s : { ...s, requests: s.requests - base };
      }),
    };
  }
}
