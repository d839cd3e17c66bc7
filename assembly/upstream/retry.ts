// Retry decisions: the route's retry policy record (written by host/compile from Istio's
// HTTPRetry) and the decision for one failed attempt, following Envoy's RetryStateImpl
// (wouldRetryFromHeaders / wouldRetryFromReset / shouldRetry) as current Istio configures it.
// A pure function of its arguments: the host carries the attempt number, the clock and the
// circuit breaker's retry slot (circuit-breaker.ts), and adds x-envoy-attempt-count itself.
//
// ── Policy record (RETRY_POLICY_SIZE bytes at `p`, from `alloc`; little-endian u32) ──────────
//    0 magic 0x50524D57 ("WMRP")   4 retries allowed (Istio attempts; 0 = retries disabled)
//    8 retryOn bits (RetryOn)      12 perTryTimeout ms (0 = none; the host arms the timer)
//   16 backoff base ms (> 0)       20 backoff max ms (>= base)
//   24 retriable status code count (<= MAX_RETRIABLE_CODES)        28 0
//   32 retriable status codes, u32 × MAX_RETRIABLE_CODES
import { UpstreamStatus } from './upstream-status';

export const RETRY_POLICY_MAGIC: u32 = 0x50524d57;
export const MAX_RETRIABLE_CODES: u32 = 16;
export const RETRY_POLICY_SIZE: u32 = 32 + MAX_RETRIABLE_CODES * 4;

export const RP_MAGIC: u32 = 0;
export const RP_RETRIES: u32 = 4;
export const RP_RETRY_ON: u32 = 8;
export const RP_PER_TRY_TIMEOUT_MS: u32 = 12;
export const RP_BACKOFF_BASE_MS: u32 = 16;
export const RP_BACKOFF_MAX_MS: u32 = 20;
export const RP_CODE_COUNT: u32 = 24;
export const RP_CODES: u32 = 32;

/** retryOn conditions (Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on names). Bits are part of the record. */
export const enum RetryOn {
  /** `5xx`: any 5xx response, or no response at all (reset, connect failure, per-try timeout). */
  Http5xx = 1 << 0,
  /** `gateway-error`: 502, 503, 504, or no response at all. */
  GatewayError = 1 << 1,
  /** `reset`: no response at all (disconnect, reset, per-try timeout, connect failure). */
  Reset = 1 << 2,
  /** `connect-failure`: connecting failed or timed out. */
  ConnectFailure = 1 << 3,
  /** `refused-stream`: the upstream refused the stream (HTTP/2 REFUSED_STREAM). */
  RefusedStream = 1 << 4,
  /** `retriable-4xx`: 409 Conflict. */
  Retriable4xx = 1 << 5,
  /** `retriable-status-codes`: a status in the record's code list. */
  RetriableStatusCodes = 1 << 6,
  /** gRPC `cancelled` (grpc-status 1). */
  GrpcCancelled = 1 << 7,
  /** gRPC `deadline-exceeded` (grpc-status 4). */
  GrpcDeadlineExceeded = 1 << 8,
  /** gRPC `resource-exhausted` (grpc-status 8). */
  GrpcResourceExhausted = 1 << 9,
  /** gRPC `unavailable` (grpc-status 14). */
  GrpcUnavailable = 1 << 10,
  /** gRPC `internal` (grpc-status 13). */
  GrpcInternal = 1 << 11,
}
export const RETRY_ON_ALL: u32 = (1 << 12) - 1;

/** How an attempt ended. Values are part of the ABI. */
export const enum AttemptOutcome {
  /** Response headers arrived: `status` holds the HTTP status (and `grpcStatus` the grpc-status, or -1). */
  Response = 0,
  /** Connecting to the endpoint failed or timed out (Envoy: LocalConnectionFailure / ConnectionTimeout). */
  ConnectFailure = 1,
  /** The connection was reset or closed before response headers (Envoy: remote/local reset). */
  ResetBeforeHeaders = 2,
  /** Reset after response headers. Envoy forwards headers downstream as soon as it decides not to retry them, so this is never retried. */
  ResetAfterHeaders = 3,
  /** The per-try timeout fired before response headers (Envoy retries it as a reset: 5xx, gateway-error, reset). */
  PerTryTimeout = 4,
  /** The upstream refused the stream before processing it (HTTP/2 REFUSED_STREAM). */
  RefusedStream = 5,
  /** The local circuit breaker refused the attempt: Envoy never retries an overflow. */
  Overflow = 6,
}

/** Flags the host passes about the request and the downstream response. */
export const RETRY_FLAG_RESPONSE_STARTED: u32 = 1;
/** The request body was streamed upstream beyond what the host buffered: it cannot be replayed. */
export const RETRY_FLAG_BODY_NOT_BUFFERED: u32 = 2;
/** The response carries x-envoy-ratelimited (from an upstream Envoy): never retried. */
export const RETRY_FLAG_RATE_LIMITED: u32 = 4;
export const RETRY_FLAGS_ALL: u32 = 7;

/** The decision: Retry, or why not. Values are part of the ABI. */
export const enum RetryDecision {
  Retry = 0,
  /** The outcome matches no retryOn condition (a success lands here too). */
  NotRetriable = 1,
  /** The policy allows no retries (Istio `attempts: 0`). */
  Disabled = 2,
  /** The retries allowed are used up (Envoy: upstream_rq_retry_limit_exceeded, flag URX). */
  LimitExceeded = 3,
  /** Response bytes already went downstream. */
  ResponseStarted = 4,
  /** The request body was streamed beyond the buffer: it cannot be sent again. */
  BodyNotBuffered = 5,
  /** The route timeout has elapsed: the request is over. */
  RouteTimeout = 6,
  /** The response carries x-envoy-ratelimited. */
  RateLimited = 7,
}

/** Checks a policy record the host wrote. Returns Ok, BadMagic or BadValue. */
export function retryPolicyCheck(p: usize): i32 {
  if (load<u32>(p + RP_MAGIC) != RETRY_POLICY_MAGIC) return UpstreamStatus.BadMagic;
  if ((load<u32>(p + RP_RETRY_ON) & ~RETRY_ON_ALL) != 0) return UpstreamStatus.BadValue;
  const base = load<u32>(p + RP_BACKOFF_BASE_MS);
  // Envoy requires base > 0 and max >= base; 0 would make the backoff a division by zero.
  if (base == 0 || load<u32>(p + RP_BACKOFF_MAX_MS) < base) return UpstreamStatus.BadValue;
  if (load<u32>(p + RP_CODE_COUNT) > MAX_RETRIABLE_CODES) return UpstreamStatus.BadValue;
  return UpstreamStatus.Ok;
}

function retriableCode(p: usize, status: i32): bool {
  const n = load<u32>(p + RP_CODE_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    if (<i32>load<u32>(p + RP_CODES + i * 4) == status) return true;
  }
  return false;
}

/** Envoy's wouldRetryFromHeaders (without retriable-headers, which Istio cannot configure). */
function wouldRetryResponse(p: usize, on: u32, status: i32, grpcStatus: i32): bool {
  if ((on & RetryOn.Http5xx) != 0 && status >= 500 && status <= 599) return true;
  if ((on & RetryOn.GatewayError) != 0 && status >= 502 && status <= 504) return true;
  if ((on & RetryOn.Retriable4xx) != 0 && status == 409) return true;
  if ((on & RetryOn.RetriableStatusCodes) != 0 && retriableCode(p, status)) return true;
  // gRPC status from the response headers (a trailers-only response); -1 when absent.
  if (grpcStatus == 1 && (on & RetryOn.GrpcCancelled) != 0) return true;
  if (grpcStatus == 4 && (on & RetryOn.GrpcDeadlineExceeded) != 0) return true;
  if (grpcStatus == 8 && (on & RetryOn.GrpcResourceExhausted) != 0) return true;
  if (grpcStatus == 14 && (on & RetryOn.GrpcUnavailable) != 0) return true;
  if (grpcStatus == 13 && (on & RetryOn.GrpcInternal) != 0) return true;
  return false;
}

/** Envoy's wouldRetryFromReset for the reset kinds an HTTP/1.1 upstream produces. */
function wouldRetryReset(on: u32, outcome: i32): bool {
  if (outcome == AttemptOutcome.Overflow) return false;
  if ((on & (RetryOn.Http5xx | RetryOn.GatewayError | RetryOn.Reset)) != 0) return true;
  if (outcome == AttemptOutcome.RefusedStream && (on & RetryOn.RefusedStream) != 0) return true;
  if (outcome == AttemptOutcome.ConnectFailure && (on & RetryOn.ConnectFailure) != 0) return true;
  return false;
}

/**
 * Whether to retry after attempt number `attempt` (1 = the first try) ended with `outcome`.
 * `status`/`grpcStatus` describe a Response outcome (grpcStatus -1: none); `flags` are
 * RETRY_FLAG_*; `elapsedMs` is the time since the request started and `routeTimeoutMs` the
 * route's timeout (0: none). Returns a RetryDecision, or BadMagic / BadKind / BadValue.
 *
 * Order: what ends the request for good first (downstream response started, body not
 * replayable, route timeout), then Envoy's order: the condition, then the retry limit (so
 * LimitExceeded is reported only for an outcome that would have been retried).
 */
export function retryDecide(p: usize, attempt: u32, outcome: i32, status: i32, grpcStatus: i32, flags: u32, elapsedMs: f64, routeTimeoutMs: f64): i32 {
  if (load<u32>(p + RP_MAGIC) != RETRY_POLICY_MAGIC) return UpstreamStatus.BadMagic;
  if (outcome < AttemptOutcome.Response || outcome > AttemptOutcome.Overflow) return UpstreamStatus.BadKind;
  if ((flags & ~RETRY_FLAGS_ALL) != 0 || attempt == 0) return UpstreamStatus.BadValue;
  const retries = load<u32>(p + RP_RETRIES);
  if (retries == 0) return RetryDecision.Disabled;
  if ((flags & RETRY_FLAG_RESPONSE_STARTED) != 0 || outcome == AttemptOutcome.ResetAfterHeaders) return RetryDecision.ResponseStarted;
  if ((flags & RETRY_FLAG_BODY_NOT_BUFFERED) != 0) return RetryDecision.BodyNotBuffered;
  if (routeTimeoutMs > 0 && elapsedMs >= routeTimeoutMs) return RetryDecision.RouteTimeout;
  const on = load<u32>(p + RP_RETRY_ON);
  if (outcome == AttemptOutcome.Response) {
    // Envoy checks x-envoy-ratelimited before any condition.
    if ((flags & RETRY_FLAG_RATE_LIMITED) != 0) return RetryDecision.RateLimited;
    if (!wouldRetryResponse(p, on, status, grpcStatus)) return RetryDecision.NotRetriable;
  } else if (!wouldRetryReset(on, outcome)) {
    return RetryDecision.NotRetriable;
  }
  // `attempt` tries so far means attempt - 1 retries used.
  if (attempt - 1 >= retries) return RetryDecision.LimitExceeded;
  return RetryDecision.Retry;
}
