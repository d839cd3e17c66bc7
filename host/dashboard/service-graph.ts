// The service graph from Istio's metrics: workloads as nodes, calls as edges with request rate,
// 5xx share, p99 latency and the share of requests over mutual TLS. Per edge the destination
// proxy's report wins (Kiali's choice: it saw the call arrive and knows the connection's
// security); the source proxy's report fills in calls that no destination proxy reported.
import { edgeLatencyQuantile, edgeRequestRate, edgeTcpBytesRate, type Reporter } from './promql.js';
import type { PrometheusApi, Sample } from './prometheus-api.js';

/** Istio's value for a peer it has no metadata for. */
const UNKNOWN = 'unknown';

export interface GraphNode {
  /** `namespace/workload`, `unknown` (a caller without a sidecar) or `service:<host>` (a destination outside the mesh). */
  readonly id: string;
  readonly kind: 'workload' | 'unknown' | 'service';
  readonly namespace: string;
  readonly workload: string;
  /** Canonical service and revision (app / version labels). */
  readonly app: string;
  readonly version: string;
  /** Requests per second the node received (sum of its incoming HTTP edges). */
  readonly inRps: number;
}

export type MtlsState = 'mutual_tls' | 'none' | 'partial' | 'unknown';

export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly protocol: 'http' | 'tcp';
  /** The report this edge is drawn from. */
  readonly reporter: Reporter;
  readonly destinationService: string;
  /** HTTP: requests per second. */
  readonly rps: number;
  /** HTTP: share of requests answered 5xx (0..1). */
  readonly errorRate: number;
  /** HTTP: p99 latency in ms; null when Prometheus had no histogram data for the window. */
  readonly p99Ms: number | null;
  /** TCP: bytes per second, both directions. */
  readonly tcpBytesPerS: number;
  /** mutual_tls when every request (or TCP byte) went over mTLS, none when none did, partial between; unknown from a source report. */
  readonly mtls: MtlsState;
}

export interface ServiceGraph {
  readonly window: string;
  /** Unix ms when the graph was computed. */
  readonly at: number;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

interface Endpoint {
  id: string;
  kind: GraphNode['kind'];
  namespace: string;
  workload: string;
  app: string;
  version: string;
}

function side(m: Readonly<Record<string, string>>, prefix: 'source' | 'destination'): Endpoint {
  const workload = m[`${prefix}_workload`] ?? UNKNOWN;
  const namespace = m[`${prefix}_workload_namespace`] ?? UNKNOWN;
  const app = m[`${prefix}_canonical_service`] ?? UNKNOWN;
  const version = m[`${prefix}_canonical_revision`] ?? UNKNOWN;
  if (workload !== UNKNOWN && workload !== '') return { id: `${namespace}/${workload}`, kind: 'workload', namespace, workload, app, version };
  const service = prefix === 'destination' ? m.destination_service ?? '' : '';
  if (service !== '' && service !== UNKNOWN) return { id: `service:${service}`, kind: 'service', namespace: UNKNOWN, workload: UNKNOWN, app: service, version: UNKNOWN };
  return { id: UNKNOWN, kind: 'unknown', namespace: UNKNOWN, workload: UNKNOWN, app: UNKNOWN, version: UNKNOWN };
}

function edgeKey(m: Readonly<Record<string, string>>): string {
  return `${side(m, 'source').id} -> ${side(m, 'destination').id}`;
}

interface Acc {
  source: Endpoint;
  target: Endpoint;
  destinationService: string;
  total: number;
  errors: number;
  mtls: number;
  plain: number;
}

function accumulate(samples: readonly Sample[], isError: (m: Readonly<Record<string, string>>) => boolean): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const s of samples) {
    if (!Number.isFinite(s.value) || s.value <= 0) continue;
    const key = edgeKey(s.metric);
    let acc = out.get(key);
    if (!acc) {
      acc = { source: side(s.metric, 'source'), target: side(s.metric, 'destination'), destinationService: s.metric.destination_service ?? UNKNOWN, total: 0, errors: 0, mtls: 0, plain: 0 };
      out.set(key, acc);
    }
    acc.total += s.value;
    if (isError(s.metric)) acc.errors += s.value;
    const policy = s.metric.connection_security_policy;
    if (policy === 'mutual_tls') acc.mtls += s.value;
    else if (policy === 'none') acc.plain += s.value;
  }
  return out;
}

/** Destination's edges, then the source's edges that the destination did not report. */
function preferDestination(destination: Map<string, Acc>, source: Map<string, Acc>): Array<[string, Acc, Reporter]> {
  const out: Array<[string, Acc, Reporter]> = [];
  for (const [k, a] of destination) out.push([k, a, 'destination']);
  for (const [k, a] of source) if (!destination.has(k)) out.push([k, a, 'source']);
  return out;
}

function mtlsOf(acc: Acc): MtlsState {
  if (acc.mtls > 0 && acc.plain === 0 && acc.mtls >= acc.total * 0.999) return 'mutual_tls';
  if (acc.mtls === 0 && acc.plain > 0 && acc.plain >= acc.total * 0.999) return 'none';
  if (acc.mtls > 0) return 'partial';
  return 'unknown';
}

/** 5xx, as Istio's success-rate panels count failures. */
const isHttpError = (m: Readonly<Record<string, string>>): boolean => (m.response_code ?? '').startsWith('5');

/** The graph out of the samples of the queries in promql.ts (pure: the unit tests feed it samples). */
export function buildServiceGraph(input: {
  window: string;
  at: number;
  requests: Record<Reporter, readonly Sample[]>;
  p99: Record<Reporter, readonly Sample[]>;
  tcp: Record<Reporter, readonly Sample[]>;
}): ServiceGraph {
  const nodes = new Map<string, GraphNode>();
  const inRps = new Map<string, number>();
  const edges: GraphEdge[] = [];
  const addNode = (e: Endpoint): void => {
    if (!nodes.has(e.id)) nodes.set(e.id, { ...e, inRps: 0 });
  };
  const latency: Record<Reporter, Map<string, number>> = { destination: new Map(), source: new Map() };
  for (const reporter of ['destination', 'source'] as const) {
    for (const s of input.p99[reporter]) if (Number.isFinite(s.value)) latency[reporter].set(edgeKey(s.metric), s.value);
  }
  const http = preferDestination(accumulate(input.requests.destination, isHttpError), accumulate(input.requests.source, isHttpError));
  for (const [key, acc, reporter] of http) {
    addNode(acc.source);
    addNode(acc.target);
    inRps.set(acc.target.id, (inRps.get(acc.target.id) ?? 0) + acc.total);
    edges.push({
      id: `http:${key}`, source: acc.source.id, target: acc.target.id, protocol: 'http', reporter, destinationService: acc.destinationService,
      rps: acc.total, errorRate: acc.errors / acc.total, p99Ms: latency[reporter].get(key) ?? null, tcpBytesPerS: 0,
      // A source proxy reports connection_security_policy as unknown: only the destination knows.
      mtls: reporter === 'destination' ? mtlsOf(acc) : 'unknown',
    });
  }
  const tcp = preferDestination(accumulate(input.tcp.destination, () => false), accumulate(input.tcp.source, () => false));
  for (const [key, acc, reporter] of tcp) {
    addNode(acc.source);
    addNode(acc.target);
    edges.push({
      id: `tcp:${key}`, source: acc.source.id, target: acc.target.id, protocol: 'tcp', reporter, destinationService: acc.destinationService,
      rps: 0, errorRate: 0, p99Ms: null, tcpBytesPerS: acc.total, mtls: reporter === 'destination' ? mtlsOf(acc) : 'unknown',
    });
  }
  const nodeList = [...nodes.values()].map((n) => ({ ...n, inRps: inRps.get(n.id) ?? 0 })).sort((a, b) => a.id.localeCompare(b.id));
  edges.sort((a, b) => a.id.localeCompare(b.id));
  return { window: input.window, at: input.at, nodes: nodeList, edges };
}

/** Asks Prometheus the six queries (in parallel) and builds the graph. */
export async function queryServiceGraph(prom: PrometheusApi, window: string, now = Date.now()): Promise<ServiceGraph> {
  const [rd, rs, pd, ps, td, ts] = await Promise.all([
    prom.query(edgeRequestRate('destination', window)), prom.query(edgeRequestRate('source', window)),
    prom.query(edgeLatencyQuantile('destination', window)), prom.query(edgeLatencyQuantile('source', window)),
    prom.query(edgeTcpBytesRate('destination', window)), prom.query(edgeTcpBytesRate('source', window)),
  ]);
  return buildServiceGraph({ window, at: now, requests: { destination: rd, source: rs }, p99: { destination: pd, source: ps }, tcp: { destination: td, source: ts } });
}
