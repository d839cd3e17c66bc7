// The filters' counters, declared once as data and defined with the host once per VM; Envoy
// shows them in /stats as `wasmcustom.<name>`. Increments are kept in the VM and handed to the
// host in batches (every FLUSH_EVERY per counter, and on each root context's tick, at least
// once a second): a proxy_increment_metric per request measured ~0.45 µs, a tenth of the
// router's whole cost.
import { MetricType, Status } from '../abi/abi-types';
import { defineMetric, definedMetricId, incrementMetric } from '../abi/metrics';

/** Index into METRIC_NAMES; the order is the list's. */
export const enum Metric {
  /** Requests the router matched and gave a destination (x-wasmesh-cluster set). */
  RouterRouted = 0,
  /** Requests matching a route without destinations (redirect / direct response, answered by Envoy's route). */
  RouterNoDestination = 1,
  /** Requests no route matched: answered 404 by the router (Envoy's NR). */
  RouterNoRoute = 2,
  /** Requests the router could not read (malformed header map): answered 500. */
  RouterBadRequestView = 3,
  /** Requests the fault filter delayed. */
  FaultDelays = 4,
  /** Requests the fault filter aborted. */
  FaultAborts = 5,
  /** Plugin configurations refused by on_configure (the plugin then fails to load). */
  ConfigRejected = 6,
  Count = 7,
}

const METRIC_NAMES: string[] = [
  'wasmesh_router_routed',
  'wasmesh_router_no_destination',
  'wasmesh_router_no_route',
  'wasmesh_router_bad_request_view',
  'wasmesh_fault_delays',
  'wasmesh_fault_aborts',
  'wasmesh_config_rejected',
];

const ids = memory.data(<i32>Metric.Count * 4);
/** Increments not yet handed to the host, per metric. */
const pending = memory.data(<i32>Metric.Count * 4);
let defined = false;

/** A counter is handed to the host once this many increments wait. */
const FLUSH_EVERY: u32 = 64;
/** The tick period (ms) roots use to flush counters when they have nothing else timed. */
export const METRICS_FLUSH_MS: u32 = 1000;

/** Defines every metric with the host (once per VM; later calls do nothing). */
export function defineMetrics(): void {
  if (defined) return;
  defined = true;
  for (let i = 0; i < <i32>Metric.Count; i++) {
    const name = METRIC_NAMES[i];
    const n = <usize>name.length;
    const bytes = heap.alloc(n);
    for (let k: usize = 0; k < n; k++) store<u8>(bytes + k, <u8>name.charCodeAt(<i32>k));
    const status = defineMetric(MetricType.Counter, bytes, n);
    heap.free(bytes);
    // An id of 0xffffffff marks a metric the host refused: increments skip it.
    store<u32>(ids + <usize>i * 4, status == Status.Ok ? definedMetricId() : 0xffffffff);
  }
}

/** Adds one to `m` (handed to the host in batches; dropped when the host refused the metric). */
export function count(m: Metric): void {
  const at = pending + <usize>m * 4;
  const n = load<u32>(at) + 1;
  if (n < FLUSH_EVERY) {
    store<u32>(at, n);
    return;
  }
  store<u32>(at, 0);
  hand(m, n);
}

function hand(m: Metric, n: u32): void {
  if (!defined) defineMetrics();
  const id = load<u32>(ids + <usize>m * 4);
  if (id != 0xffffffff) incrementMetric(id, <i64>n);
}

/** Hands every waiting increment to the host (ticks; before a failure is reported). */
export function flushMetrics(): void {
  for (let i = 0; i < <i32>Metric.Count; i++) {
    const at = pending + <usize>i * 4;
    const n = load<u32>(at);
    if (n == 0) continue;
    store<u32>(at, 0);
    hand(<Metric>i, n);
  }
}
