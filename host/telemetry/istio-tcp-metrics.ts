// Istio's standard TCP metrics for one server (one reporter, one workload):
// istio_tcp_connections_opened_total, istio_tcp_connections_closed_total,
// istio_tcp_sent_bytes_total (Istio: bytes sent during the response, destination → source) and
// istio_tcp_received_bytes_total (bytes received during the request, source → destination), one series per
// label set. A connection finds its series once, when it opens (or fails), and adds to it when
// it closes; the label text is built once per distinct label set.
import { renderTcpLabels, type Reporter, type ServiceLabels, type WorkloadLabels } from './istio-labels.js';
import { MAX_SERIES } from './istio-series-limit.js';

/** One TCP series as a scrape (or a worker's snapshot) carries it. */
export interface IstioTcpSeriesSnapshot {
  labels: string;
  opened: number;
  closed: number;
  /** Response direction: bytes from the destination to the source. */
  sent: number;
  /** Request direction: bytes from the source to the destination. */
  received: number;
}

export class IstioTcpSeries {
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
  constructor(readonly labels: string) {}
}

export class IstioTcpMetrics {
  readonly reporter: Reporter;
  readonly #self: WorkloadLabels;
  readonly #selfPrincipal: () => string;
  readonly #byLabels = new Map<string, IstioTcpSeries>();
  /** Connections not counted because MAX_SERIES was reached. */
  overflow = 0;

  constructor(reporter: Reporter, self: WorkloadLabels, selfPrincipal: () => string) {
    this.reporter = reporter;
    this.#self = self;
    this.#selfPrincipal = selfPrincipal;
  }

  /** The series of a connection to `service` (peer: the other side's workload), or null past the cap. */
  series(peer: WorkloadLabels, peerPrincipal: string, service: ServiceLabels, flags: string, policy: 'unknown' | 'none' | 'mutual_tls'): IstioTcpSeries | null {
    const src = this.reporter === 'source';
    const labels = renderTcpLabels({
      reporter: this.reporter,
      source: src ? this.#self : peer,
      sourcePrincipal: src ? this.#selfPrincipal() : peerPrincipal,
      destination: src ? peer : this.#self,
      destinationPrincipal: src ? peerPrincipal : this.#selfPrincipal(),
      service,
      responseFlags: flags,
      connectionSecurityPolicy: policy,
    });
    let s = this.#byLabels.get(labels);
    if (s === undefined) {
      if (this.#byLabels.size >= MAX_SERIES) {
        this.overflow++;
        return null;
      }
      this.#byLabels.set(labels, (s = new IstioTcpSeries(labels)));
    }
    return s;
  }

  snapshot(): IstioTcpSeriesSnapshot[] {
    return [...this.#byLabels.values()].map((s) => ({ labels: s.labels, opened: s.opened, closed: s.closed, sent: s.sent, received: s.received }));
  }
}

/** Sums TCP series of equal label sets. */
export function mergeIstioTcp(lists: ReadonlyArray<readonly IstioTcpSeriesSnapshot[] | undefined>): IstioTcpSeriesSnapshot[] {
  const by = new Map<string, IstioTcpSeriesSnapshot>();
  for (const list of lists) {
    for (const s of list ?? []) {
      const have = by.get(s.labels);
      if (have === undefined) by.set(s.labels, { ...s });
      else {
        have.opened += s.opened;
        have.closed += s.closed;
        have.sent += s.sent;
        have.received += s.received;
      }
    }
  }
  return [...by.values()];
}

/** The istio_tcp_* families: name, snapshot field, Telemetry API metric. */
export const ISTIO_TCP_FAMILIES: ReadonlyArray<readonly [string, keyof Omit<IstioTcpSeriesSnapshot, 'labels'>, 'TCP_CLOSED_CONNECTIONS' | 'TCP_OPENED_CONNECTIONS' | 'TCP_RECEIVED_BYTES' | 'TCP_SENT_BYTES']> = [
  ['istio_tcp_connections_closed_total', 'closed', 'TCP_CLOSED_CONNECTIONS'],
  ['istio_tcp_connections_opened_total', 'opened', 'TCP_OPENED_CONNECTIONS'],
  ['istio_tcp_received_bytes_total', 'received', 'TCP_RECEIVED_BYTES'],
  ['istio_tcp_sent_bytes_total', 'sent', 'TCP_SENT_BYTES'],
];

/**
 * The istio_tcp_* families in Prometheus text (empty without series). `samples` gives a family's
 * samples when the Telemetry API's overrides apply (host/telemetry/istio-metric-overrides.ts);
 * a family without samples has no `# TYPE` line.
 */
export function renderIstioTcpPrometheus(series: readonly IstioTcpSeriesSnapshot[],
  samples?: (field: keyof Omit<IstioTcpSeriesSnapshot, 'labels'>, metric: (typeof ISTIO_TCP_FAMILIES)[number][2]) => Array<{ labels: string; value: number }>): string {
  if (series.length === 0) return '';
  const sorted = [...series].sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
  const parts: string[] = [];
  for (const [name, field, metric] of ISTIO_TCP_FAMILIES) {
    const list = samples === undefined ? sorted.map((s) => ({ labels: s.labels, value: s[field] })) : samples(field, metric);
    if (list.length === 0) continue;
    parts.push(`# TYPE ${name} counter\n`);
    for (const s of list) parts.push(`${name}{${s.labels}} ${s.value}\n`);
  }
  return parts.join('');
}
