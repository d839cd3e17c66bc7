// The registry of Istio's standard HTTP metrics for one server (one reporter, one workload):
// istio_requests_total and the istio_request_duration_milliseconds, istio_request_bytes and
// istio_response_bytes histograms, one series per distinct label set. A finished request finds
// its series through caches keyed by the objects it already holds (the peer's labels, the
// destination service's labels, then code and security policy as one number), so the common
// request allocates nothing; only a new label set, or response flags other than `-`, builds
// the label text. Worker threads keep their own registries; snapshots are merged when scraped.
import { newHistogram, observe, addHistogram, type HistogramData } from './istio-histogram.js';
import { renderLabels, type Reporter, type ServiceLabels, type WorkloadLabels } from './istio-labels.js';
import { mergeIstioTcp, type IstioTcpSeriesSnapshot } from './istio-tcp-metrics.js';

/** connection_security_policy, as a small number for the cache key. */
export const enum SecurityPolicy {
  Unknown = 0,
  None = 1,
  MutualTls = 2,
}
const POLICY_TEXT = ['unknown', 'none', 'mutual_tls'] as const;

/** One series' figures as a scrape (or a worker's snapshot) carries them. */
export interface IstioSeriesSnapshot {
  /** The label set, rendered (`reporter="…",…`). */
  labels: string;
  requests: number;
  duration: number[];
  requestBytes: number[];
  responseBytes: number[];
  /** istio_request_messages_total / istio_response_messages_total (gRPC); absent: 0. */
  requestMessages?: number;
  responseMessages?: number;
}

/** A registry's (or several merged) figures. */
export interface IstioSnapshot {
  series: IstioSeriesSnapshot[];
  /** Requests not counted for the series cap. */
  overflow: number;
  /** istio_tcp_* series (host/telemetry/istio-tcp-metrics.ts); absent: none. */
  tcp?: IstioTcpSeriesSnapshot[];
}

/** The largest gRPC status the series cache keys by number (a key holds 64 values: GRPC_NOT, GRPC_NO_STATUS, 0…61). */
const GRPC_KEY_MAX = 61;

export const EMPTY_ISTIO_SNAPSHOT: IstioSnapshot = { series: [], overflow: 0 };

import { MAX_SERIES } from './istio-series-limit.js';
export { MAX_SERIES };

class Series {
  requests = 0;
  readonly duration: HistogramData = newHistogram();
  readonly requestBytes: HistogramData = newHistogram();
  readonly responseBytes: HistogramData = newHistogram();
  requestMessages = 0;
  responseMessages = 0;
  constructor(readonly labels: string) {}
}

/** The series of one peer and service, by code and policy (and flags), for one peer principal. */
interface ServiceTable {
  readonly principal: string;
  /** Flags `-` (most requests). */
  readonly byCode: Map<number, Series>;
  /** Other flags (UF, URX, NR, DC, …): a failing upstream must not make each request build its label text. */
  byFlags: Map<string, Map<number, Series>> | null;
}

export class IstioMetrics {
  readonly reporter: Reporter;
  readonly #self: WorkloadLabels;
  readonly #selfPrincipal: () => string;
  readonly #byLabels = new Map<string, Series>();
  readonly #fast = new WeakMap<WorkloadLabels, Map<ServiceLabels, ServiceTable>>();
  /** The last request's series and what found it (#cached). */
  #last: Series | null = null;
  #lastPeer: WorkloadLabels | null = null;
  #lastService: ServiceLabels | null = null;
  #lastKey = -1;
  #lastPrincipal = '';
  /** Requests not counted because MAX_SERIES was reached (wasmesh_istio_series_overflow_total). */
  overflow = 0;

  /** `selfPrincipal` is read when a label set is first seen (the workload certificate may arrive after the server starts). */
  constructor(reporter: Reporter, self: WorkloadLabels, selfPrincipal: () => string) {
    this.reporter = reporter;
    this.#self = self;
    this.#selfPrincipal = selfPrincipal;
  }

  /**
   * Counts one finished request. `peer` is the other side's workload (source on the destination
   * reporter, destination on the source reporter), `peerPrincipal` its SPIFFE ID or `unknown`.
   */
  record(peer: WorkloadLabels, peerPrincipal: string, service: ServiceLabels, code: number, grpcStatus: number, flags: string, policy: SecurityPolicy,
    durationMs: number, requestBytes: number, responseBytes: number, requestMessages = 0, responseMessages = 0): void {
    const s = this.#cached(peer, peerPrincipal, service, code, grpcStatus, flags, policy);
    if (s === null) {
      this.overflow++;
      return;
    }
    s.requests++;
    observe(s.duration, durationMs);
    observe(s.requestBytes, requestBytes);
    observe(s.responseBytes, responseBytes);
    s.requestMessages += requestMessages;
    s.responseMessages += responseMessages;
  }

  #cached(peer: WorkloadLabels, peerPrincipal: string, service: ServiceLabels, code: number, grpcStatus: number, flags: string, policy: SecurityPolicy): Series | null {
    // A user-defined gRPC status past the canonical range: its own label text, not cached by number.
    if (grpcStatus > GRPC_KEY_MAX) return this.#series(peer, peerPrincipal, service, code, grpcStatus, flags, policy);
    // code, policy and the gRPC status (GRPC_NOT, GRPC_NO_STATUS or 0…GRPC_KEY_MAX) as one number.
    const key = (code * 4 + policy) * 64 + (grpcStatus + 2);
    // The last request's series when this one has the same labels (steady traffic between the
    // same two workloads: most requests): compares of the objects and numbers it holds, where
    // the tables below are three hash lookups (one of them a WeakMap's).
    const last = this.#last;
    if (last !== null && peer === this.#lastPeer && service === this.#lastService && key === this.#lastKey && flags === '-' && peerPrincipal === this.#lastPrincipal) return last;
    const s = this.#tables(peer, peerPrincipal, service, key, code, grpcStatus, flags, policy);
    // Only the tables' common entries (flags `-`, the peer's principal as first seen) are remembered.
    if (s !== null && flags === '-' && this.#fast.get(peer)?.get(service)?.principal === peerPrincipal) {
      this.#last = s;
      this.#lastPeer = peer;
      this.#lastService = service;
      this.#lastKey = key;
      this.#lastPrincipal = peerPrincipal;
    }
    return s;
  }

  #tables(peer: WorkloadLabels, peerPrincipal: string, service: ServiceLabels, key: number, code: number, grpcStatus: number, flags: string, policy: SecurityPolicy): Series | null {
    let byService = this.#fast.get(peer);
    if (byService === undefined) this.#fast.set(peer, (byService = new Map()));
    let table = byService.get(service);
    // One principal per peer and service is the rule (a peer's certificate names its workload); another one takes the slow path.
    if (table === undefined) byService.set(service, (table = { principal: peerPrincipal, byCode: new Map(), byFlags: null }));
    else if (table.principal !== peerPrincipal) return this.#series(peer, peerPrincipal, service, code, grpcStatus, flags, policy);
    let byCode = table.byCode;
    if (flags !== '-') {
      const byFlags = (table.byFlags ??= new Map());
      let m = byFlags.get(flags);
      if (m === undefined) {
        // Bounded like the series: flags come from a fixed alphabet, but combinations add up.
        if (byFlags.size >= 64) return this.#series(peer, peerPrincipal, service, code, grpcStatus, flags, policy);
        byFlags.set(flags, (m = new Map()));
      }
      byCode = m;
    }
    let s = byCode.get(key);
    if (s === undefined) {
      const found = this.#series(peer, peerPrincipal, service, code, grpcStatus, flags, policy);
      if (found === null) return null;
      byCode.set(key, (s = found));
    }
    return s;
  }

  #series(peer: WorkloadLabels, peerPrincipal: string, service: ServiceLabels, code: number, grpcStatus: number, flags: string, policy: SecurityPolicy): Series | null {
    const src = this.reporter === 'source';
    const labels = renderLabels({
      reporter: this.reporter,
      source: src ? this.#self : peer,
      sourcePrincipal: src ? this.#selfPrincipal() : peerPrincipal,
      destination: src ? peer : this.#self,
      destinationPrincipal: src ? peerPrincipal : this.#selfPrincipal(),
      service,
      responseCode: code,
      grpcStatus,
      responseFlags: flags,
      connectionSecurityPolicy: POLICY_TEXT[policy],
    });
    let s = this.#byLabels.get(labels);
    if (s === undefined) {
      if (this.#byLabels.size >= MAX_SERIES) return null;
      this.#byLabels.set(labels, (s = new Series(labels)));
    }
    return s;
  }

  /** Distinct label sets so far. */
  get size(): number {
    return this.#byLabels.size;
  }

  /** Every series as plain data (structured-clone and JSON safe). */
  snapshot(): IstioSnapshot {
    const out: IstioSeriesSnapshot[] = [];
    for (const s of this.#byLabels.values()) {
      out.push({ labels: s.labels, requests: s.requests, duration: Array.from(s.duration), requestBytes: Array.from(s.requestBytes), responseBytes: Array.from(s.responseBytes), ...(s.requestMessages + s.responseMessages > 0 ? { requestMessages: s.requestMessages, responseMessages: s.responseMessages } : {}) });
    }
    return { series: out, overflow: this.overflow };
  }
}

/** Sums series of equal label sets (worker threads, a sidecar's two listeners). */
export function mergeIstio(lists: ReadonlyArray<IstioSnapshot>): IstioSnapshot {
  const byLabels = new Map<string, IstioSeriesSnapshot>();
  let overflow = 0;
  for (const list of lists) {
    overflow += list.overflow;
    for (const s of list.series) {
      const have = byLabels.get(s.labels);
      if (have === undefined) {
        byLabels.set(s.labels, { labels: s.labels, requests: s.requests, duration: [...s.duration], requestBytes: [...s.requestBytes], responseBytes: [...s.responseBytes], ...(s.requestMessages !== undefined ? { requestMessages: s.requestMessages, responseMessages: s.responseMessages ?? 0 } : {}) });
        continue;
      }
      have.requests += s.requests;
      if (s.requestMessages !== undefined || s.responseMessages !== undefined) {
        have.requestMessages = (have.requestMessages ?? 0) + (s.requestMessages ?? 0);
        have.responseMessages = (have.responseMessages ?? 0) + (s.responseMessages ?? 0);
      }
      addHistogram(have.duration, s.duration);
      addHistogram(have.requestBytes, s.requestBytes);
      addHistogram(have.responseBytes, s.responseBytes);
    }
  }
  const tcp = mergeIstioTcp(lists.map((l) => l.tcp));
  return { series: [...byLabels.values()], overflow, ...(tcp.length > 0 ? { tcp } : {}) };
}
