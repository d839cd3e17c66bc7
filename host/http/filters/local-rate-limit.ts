// Local rate limits (wasmesh's RateLimitPolicy `local` rules) with Envoy's local_ratelimit
// semantics: every rule that applies to the request takes a token from its bucket (the rule's
// one bucket, or the bucket of the request's descriptor value), in Envoy's order (envoyOrder
// below); the first empty bucket answers 429 `local_rate_limited` with flag RL. The buckets are the core's
// (assembly/ratelimit, through LocalRateLimiter), refilled from one clock reading per request.
// With response headers on, the bucket with the fewest tokens left is reported in Envoy's
// x-ratelimit-limit/-remaining/-reset (DRAFT_VERSION_03: max tokens, tokens left, seconds to
// the next token).
import type { LocalRateLimitRule } from '../../model/rate-limit.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { LimiterHandle, LocalRateLimiter } from '../../core/ratelimit/local-rate-limiter.js';
import { FilterStatus, sharedFactory, type HttpFilter, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { ResponseFlag } from '../response-flags.js';
import { descriptorValues } from './rate-limit-descriptor.js';
import type { DescriptorSource } from '../../model/rate-limit.js';

/** Envoy's local reply body for a request its local rate limit refused. */
export const LOCAL_RATE_LIMITED_BODY = 'local_rate_limited';
export const TOO_MANY_REQUESTS = '429 Too Many Requests';

/** Envoy's DRAFT_VERSION_03 header names (x-ratelimit-*). */
export const X_RATELIMIT = { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' } as const;

interface CompiledRule {
  readonly handle: LimiterHandle;
  readonly descriptor: readonly DescriptorSource[];
  readonly headers: boolean;
  /** Reused for each request's values (the filter runs synchronously). */
  readonly values: string[];
}

class LocalRateLimitFilter implements HttpFilter {
  readonly #rules: readonly CompiledRule[];
  readonly #limiter: LocalRateLimiter;
  readonly #stats: StatScope<DownstreamStat>;

  constructor(rules: readonly CompiledRule[], limiter: LocalRateLimiter, stats: StatScope<DownstreamStat>) {
    this.#rules = rules;
    this.#limiter = limiter;
    this.#stats = stats;
  }

  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    const limiter = this.#limiter;
    const now = limiter.now();
    this.#stats.inc('http_local_rate_limit.enabled');
    let report = 0;
    let reportRemaining = Infinity;
    for (const rule of this.#rules) {
      let bucket = rule.handle.ptr;
      if (bucket === 0) continue; // freed: a newer version dropped the rule
      if (rule.handle.table) {
        if (!descriptorValues(rule.descriptor, stream, rule.values)) continue;
        bucket = limiter.descriptorBucket(rule.handle, rule.values);
      }
      const allowed = limiter.consume(bucket, now);
      if (!allowed) {
        this.#stats.inc('http_local_rate_limit.rate_limited');
        this.#stats.inc('http_local_rate_limit.enforced');
        stream.sendLocalReply(TOO_MANY_REQUESTS, rule.headers ? this.#headers(bucket) : [], LOCAL_RATE_LIMITED_BODY, ResponseFlag.RateLimited);
        return FilterStatus.StopIteration;
      }
      if (rule.headers) {
        const left = limiter.remaining(bucket);
        if (left < reportRemaining) {
          report = bucket;
          reportRemaining = left;
        }
      }
    }
    this.#stats.inc('http_local_rate_limit.ok');
    if (report !== 0) for (const [n, v] of this.#headers(report)) stream.addResponseHeader(n, v);
    return FilterStatus.Continue;
  }

  #headers(bucket: number): Array<readonly [string, string]> {
    const l = this.#limiter;
    return [
      [X_RATELIMIT.limit, String(l.limit(bucket))],
      [X_RATELIMIT.remaining, String(l.remaining(bucket))],
      [X_RATELIMIT.reset, String(l.resetSeconds(bucket))],
    ];
  }
}

/**
 * The local rate limit filter for `rules` (a route's, or the proxy's for every request), or
 * null when there are none: a proxy or route without local rules has no filter at all. Takes
 * (or keeps, when unchanged) the rules' buckets from `limiter`; a bad bucket throws
 * RateLimitConfigError while the version is built.
 */
export function localRateLimitFilter(rules: readonly LocalRateLimitRule[] | null | undefined, limiter: LocalRateLimiter, stats: StatScope<DownstreamStat>): HttpFilterFactory | null {
  if (!rules || rules.length === 0) return null;
  const compiled: CompiledRule[] = envoyOrder(rules).map((r) => ({
    handle: r.descriptor.length === 0 ? limiter.bucket(r.name, r.bucket) : limiter.table(r.name, r.bucket, r.maxDynamicDescriptors),
    descriptor: r.descriptor,
    headers: r.responseHeaders,
    values: new Array<string>(r.descriptor.length).fill(''),
  }));
  return sharedFactory(new LocalRateLimitFilter(compiled, limiter, stats));
}

/**
 * The order Envoy's local_ratelimit takes tokens in, for the config host/envoy/rate-limit-policy.ts
 * gives it: the first rule without descriptor is the filter's default token_bucket, taken last
 * (once every matched descriptor let the request through); every other rule is a descriptor, and
 * the matched descriptors are taken smallest fill rate first (tokensPerFill per fillInterval;
 * equal rates in rule order). The first empty bucket refuses, and what was taken stays taken.
 */
function envoyOrder(rules: readonly LocalRateLimitRule[]): LocalRateLimitRule[] {
  const first = rules.find((r) => r.descriptor.length === 0);
  const rate = (r: LocalRateLimitRule): number => r.bucket.tokensPerFill / r.bucket.fillIntervalMs;
  const ordered = rules.filter((r) => r !== first).sort((a, b) => rate(a) - rate(b));
  if (first !== undefined) ordered.push(first);
  return ordered;
}
