// The upstream exports of core.wasm (assembly/upstream/index.ts) and the one check, per core
// and per binding, that the layout constants a binding mirrors agree with upstream_layout().
import type { Core, CoreExports } from '../wasm.js';
import { UpstreamPolicyError } from './upstream-status.js';

/** The upstream exports of core.wasm (assembly/upstream/index.ts). */
export interface UpstreamExports extends CoreExports {
  cluster_state_size(capacity: number): number;
  cluster_state_init(c: number, capacity: number, seed: number): number;
  cluster_state_seed(c: number, seed: number): number;
  cluster_state_copy(from: number, to: number, capacity: number): number;
  slot_open(c: number, slot: number): number;
  slot_close(c: number, slot: number): number;
  slot_state(c: number, slot: number): number;
  slot_active(c: number, slot: number, delta: number): number;
  slot_address(c: number, slot: number): number;
  upstream_counter(c: number, id: number): number;
  upstream_counter_inc(c: number, id: number): number;
  upstream_layout(which: number): number;
  outlier_configure(c: number, c5xx: number, cGateway: number, cLocal: number, flags: number, maxEjectionPercent: number, minHealthPercent: number, intervalMs: number, baseEjectionMs: number, maxEjectionMs: number): number;
  outlier_disable(c: number): number;
  outlier_report(c: number, slot: number, outcome: number, now: number): number;
  outlier_tick(c: number, now: number): number;
  outlier_is_ejected(c: number, slot: number): number;
  outlier_ejections_active(c: number): number;
  outlier_panic(c: number): number;
  cb_configure(c: number, maxConnections: number, maxPending: number, maxRequests: number, maxRetries: number, maxRequestsPerConnection: number): number;
  cb_try_acquire(c: number, kind: number): number;
  cb_release(c: number, kind: number): number;
  cb_state(c: number, kind: number): number;
  cb_active(c: number, kind: number): number;
  cb_remaining(c: number, kind: number): number;
  cb_connection_reusable(c: number, served: number): number;
  retry_policy_check(p: number): number;
  retry_decide(p: number, attempt: number, outcome: number, status: number, grpcStatus: number, flags: number, elapsedMs: number, routeTimeoutMs: number): number;
  retry_backoff(c: number, p: number, retry: number): number;
}

/** What the outlier detector and the circuit breaker read of a cluster state: its exports and region. */
export interface ClusterRegion {
  /** @throws UpstreamPolicyError 'released' once the region was freed. */
  readonly exports: UpstreamExports;
  /** The region's address: it changes when the region grows, so read it at each call. */
  readonly address: number;
}

/** upstream_layout() field numbers (assembly/upstream/index.ts). */
export const UpstreamLayout = {
  HeaderSize: 0,
  SlotSize: 1,
  CounterCount: 2,
  Counters: 3,
  CircuitBreakerLimits: 4,
  CircuitBreakerCounts: 5,
  RetryPolicySize: 6,
  RetryPolicyMagic: 7,
  MaxRetriableCodes: 8,
  MaxSlots: 9,
} as const;

const checked = new WeakMap<Core, Set<string>>();

/**
 * The upstream exports of `core`, after checking once per core that the fields `binding`
 * mirrors (upstream_layout field → the binding's value) are the core's.
 * @throws UpstreamPolicyError 'layout_mismatch' naming the field.
 */
export function upstreamExports(core: Core, binding: string, fields: ReadonlyArray<readonly [number, number]>): UpstreamExports {
  const x = core.exports as UpstreamExports;
  let done = checked.get(core);
  if (done?.has(binding)) return x;
  for (const [field, value] of fields) {
    if (typeof x.upstream_layout !== 'function' || x.upstream_layout(field) >>> 0 !== value) {
      throw new UpstreamPolicyError('layout_mismatch', 0, `upstream layout field ${field} (${binding})`);
    }
  }
  if (!done) checked.set(core, (done = new Set()));
  done.add(binding);
  return x;
}
