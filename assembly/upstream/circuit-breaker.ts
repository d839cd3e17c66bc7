// Per-cluster circuit breaker: Envoy's resource manager for the limits Istio's
// DestinationRule connectionPool sets (tcp.maxConnections → max_connections,
// http.http1MaxPendingRequests → max_pending_requests, http.http2MaxRequests → max_requests,
// http.maxRetries → max_retries, http.maxRequestsPerConnection → max_requests_per_connection).
// Limits and counts live in the cluster-state region, so in-flight counts survive reloads.
//
// Each resource is a written-out two-state machine: Closed (count < limit: acquire succeeds)
// and Open (count >= limit: acquire fails and counts an overflow). Envoy's gauges cx_open,
// rq_pending_open, rq_open and rq_retry_open report exactly that state.
//
// How the host uses each kind (as Envoy's HTTP/1 pool and router do):
// - Connection: before opening a new upstream connection. On failure the request does NOT fail:
//   it waits as pending for a connection to free (upstream_cx_overflow counts it).
// - Pending: before queueing a request that has no ready connection; failure → 503 UO.
// - Request: before attaching a request to a connection; failure → 503 UO, and Envoy counts it
//   as upstream_rq_pending_overflow (there is no separate "rq overflow" counter).
// - Retry: after retry_decide said Retry; failure → no retry (upstream_rq_retry_overflow), the
//   failed response goes downstream with flag UO. Success counts upstream_rq_retry; release it
//   when the retried attempt has its outcome (Envoy's resetRetry).
import {
  CS_CB_LIMITS, CS_CB_COUNTS, CS_MAX_REQUESTS_PER_CONNECTION, Counter, bump, u32Of, isClusterState,
} from './cluster-state';
import { UpstreamStatus } from './upstream-status';

/** The resources a cluster limits. Values index the limit and count arrays: part of the layout. */
export const enum CbKind {
  Connection = 0,
  Pending = 1,
  Request = 2,
  Retry = 3,
}
export const CB_KIND_COUNT: u32 = 4;

/** A resource's breaker state. */
export const enum CbState {
  /** Below its limit: the next acquire succeeds. */
  Closed = 0,
  /** At its limit: acquires fail (and count overflows) until a release. */
  Open = 1,
}

@inline function validKind(kind: u32): bool {
  return kind < CB_KIND_COUNT;
}

/** Sets the limits (already defaulted by the host: Istio's 2^32-1 when unset; 0 allows none). */
export function cbConfigure(c: usize, maxConnections: u32, maxPending: u32, maxRequests: u32, maxRetries: u32, maxRequestsPerConnection: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  store<u32>(c + CS_CB_LIMITS + CbKind.Connection * 4, maxConnections);
  store<u32>(c + CS_CB_LIMITS + CbKind.Pending * 4, maxPending);
  store<u32>(c + CS_CB_LIMITS + CbKind.Request * 4, maxRequests);
  store<u32>(c + CS_CB_LIMITS + CbKind.Retry * 4, maxRetries);
  store<u32>(c + CS_MAX_REQUESTS_PER_CONNECTION, maxRequestsPerConnection);
  return UpstreamStatus.Ok;
}

/** The CbState of resource `kind`, or a negative UpstreamStatus. */
export function cbState(c: usize, kind: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (!validKind(kind)) return UpstreamStatus.BadKind;
  return u32Of(c, CS_CB_COUNTS + kind * 4) < u32Of(c, CS_CB_LIMITS + kind * 4) ? CbState.Closed : CbState.Open;
}

/** Takes one unit of `kind`: 1 when granted, 0 when the breaker is Open (overflow counted), or a negative UpstreamStatus. */
export function cbTryAcquire(c: usize, kind: u32): i32 {
  const state = cbState(c, kind);
  if (state < 0) return state;
  if (state == CbState.Open) {
    switch (kind) {
      case CbKind.Connection: bump(c, Counter.UpstreamCxOverflow); break;
      case CbKind.Retry: bump(c, Counter.UpstreamRqRetryOverflow); break;
      default: bump(c, Counter.UpstreamRqPendingOverflow); break;
    }
    return 0;
  }
  const p = c + CS_CB_COUNTS + kind * 4;
  store<u32>(p, load<u32>(p) + 1);
  if (kind == CbKind.Retry) bump(c, Counter.UpstreamRqRetry);
  return 1;
}

/** Gives back one unit of `kind`; returns the new count, or UpstreamStatus.Underflow (count stays 0). */
export function cbRelease(c: usize, kind: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (!validKind(kind)) return UpstreamStatus.BadKind;
  const p = c + CS_CB_COUNTS + kind * 4;
  const n = load<u32>(p);
  if (n == 0) return UpstreamStatus.Underflow;
  store<u32>(p, n - 1);
  return <i32>(n - 1);
}

/** Units of `kind` in use (0..2^31-1 in practice), or a negative UpstreamStatus. */
export function cbActive(c: usize, kind: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  if (!validKind(kind)) return UpstreamStatus.BadKind;
  return <i32>u32Of(c, CS_CB_COUNTS + kind * 4);
}

/** Envoy's remaining_* gauges: limit − count (never negative after a lowered limit), or -1 on a bad call. */
export function cbRemaining(c: usize, kind: u32): f64 {
  if (!isClusterState(c) || !validKind(kind)) return -1;
  const limit = u32Of(c, CS_CB_LIMITS + kind * 4);
  const count = u32Of(c, CS_CB_COUNTS + kind * 4);
  return count >= limit ? 0 : <f64>(limit - count);
}

/**
 * 1 when a connection that has served `served` requests may take another, 0 when it must be
 * closed after its current request (maxRequestsPerConnection reached; 0 = unlimited, and 1
 * disables keep-alive), or a negative UpstreamStatus.
 */
export function cbConnectionReusable(c: usize, served: u32): i32 {
  if (!isClusterState(c)) return UpstreamStatus.BadMagic;
  const limit = u32Of(c, CS_MAX_REQUESTS_PER_CONNECTION);
  return limit == 0 || served < limit ? 1 : 0;
}
