// Global rate limits (wasmesh's RateLimitPolicy `global` rules) with Envoy's ratelimit filter
// semantics: the route's descriptors that the request produces are sent to their rate limit
// service (envoy.service.ratelimit.v3, ShouldRateLimit) and the request waits for the answer.
// OVER_LIMIT: 429 with an empty body (or the service's raw_body), x-envoy-ratelimited and flag
// RL. An error or a timeout: with failureModeDeny, 500 with flag RLSE; without (Envoy's
// default), the request goes on and is counted `ratelimit.failure_mode_allowed`. OK: the
// service's request headers are set and its response headers added. No descriptor produced:
// no call at all.
import { rateLimitServiceKey, type RouteRateLimits, type RateLimitService, type GlobalRateLimitRule } from '../../model/rate-limit.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import type { DescriptorStatus, RateLimitAnswer, RateLimitClients, RateLimitDescriptor, RateLimitClient } from '../../xds/rate-limit-client.js';
import { FilterStatus, type HttpFilter, type HttpFilterFactory } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { ResponseFlag } from '../response-flags.js';
import { descriptorValue } from './rate-limit-descriptor.js';
import { TOO_MANY_REQUESTS, X_RATELIMIT } from './local-rate-limit.js';

/** Envoy sets this on every response its ratelimit filter refused. */
export const X_ENVOY_RATELIMITED: readonly [string, string] = ['x-envoy-ratelimited', 'true'];
/** Envoy's status_on_error default, answered when the service fails and failure mode deny is on. */
export const RLS_ERROR_STATUS = '500 Internal Server Error';

/** One service and the descriptors a route sends it. */
interface ServiceCall {
  readonly service: RateLimitService;
  readonly client: RateLimitClient;
  readonly rules: readonly GlobalRateLimitRule[];
}

/**
 * Envoy's DRAFT_VERSION_03 headers from the service's statuses: the status with the fewest
 * requests left gives remaining and reset; the limit lists it, then every status's quota
 * policy (`N;w=<window seconds>[;name="…"]`).
 */
export function xRateLimitHeaders(statuses: readonly DescriptorStatus[]): Array<readonly [string, string]> {
  let min: DescriptorStatus | null = null;
  for (const s of statuses) if (s.requestsPerUnit !== null && (min === null || s.remaining < min.remaining)) min = s;
  if (min === null) return [];
  let policy = '';
  for (const s of statuses) {
    if (s.requestsPerUnit === null || s.windowSeconds === null) continue;
    policy += `, ${s.requestsPerUnit};w=${s.windowSeconds}${s.name !== '' ? `;name="${s.name}"` : ''}`;
  }
  return [
    [X_RATELIMIT.limit, `${min.requestsPerUnit}${policy}`],
    [X_RATELIMIT.remaining, String(min.remaining)],
    [X_RATELIMIT.reset, String(min.resetSeconds)],
  ];
}

class RateLimitFilter implements HttpFilter {
  readonly #calls: readonly ServiceCall[];
  readonly #stats: StatScope<DownstreamStat>;
  #cancels: Array<() => void> = [];
  #pending = 0;
  #finished = false;
  #responseHeaders: Array<readonly [string, string]> = [];
  #requestHeaders: Array<readonly [string, string]> = [];

  constructor(calls: readonly ServiceCall[], stats: StatScope<DownstreamStat>) {
    this.#calls = calls;
    this.#stats = stats;
  }

  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    for (const call of this.#calls) {
      const descriptors: RateLimitDescriptor[] = [];
      for (const rule of call.rules) {
        const entries: Array<readonly [string, string]> = [];
        let produced = true;
        for (const source of rule.descriptor) {
          const v = descriptorValue(source, stream);
          if (v === null) {
            produced = false;
            break;
          }
          entries.push([source.key, v]);
        }
        if (produced) descriptors.push(entries);
      }
      if (descriptors.length === 0) continue;
      this.#pending++;
      const service = call.service;
      this.#cancels.push(call.client.shouldRateLimit(service.domain, descriptors, service.timeoutMs, (answer) => this.#onAnswer(stream, service, answer)));
    }
    return this.#pending === 0 ? FilterStatus.Continue : FilterStatus.StopIteration;
  }

  #onAnswer(stream: StreamCallbacks, service: RateLimitService, answer: RateLimitAnswer): void {
    if (this.#finished) return;
    this.#pending--;
    switch (answer.kind) {
      case 'ok':
        this.#stats.inc('ratelimit.ok');
        this.#requestHeaders.push(...answer.requestHeaders);
        this.#responseHeaders.push(...answer.responseHeaders);
        if (service.responseHeaders) this.#responseHeaders.push(...xRateLimitHeaders(answer.statuses));
        break;
      case 'over_limit': {
        this.#stats.inc('ratelimit.over_limit');
        const headers = [...answer.responseHeaders, ...(service.responseHeaders ? xRateLimitHeaders(answer.statuses) : []), X_ENVOY_RATELIMITED];
        return this.#finish(() => stream.sendLocalReply(TOO_MANY_REQUESTS, headers, answer.body, ResponseFlag.RateLimited));
      }
      case 'error':
        this.#stats.inc('ratelimit.error');
        if (service.failureModeDeny) return this.#finish(() => stream.sendLocalReply(RLS_ERROR_STATUS, [], '', ResponseFlag.RateLimitServiceError));
        this.#stats.inc('ratelimit.failure_mode_allowed');
        break;
    }
    if (this.#pending > 0) return;
    this.#finish(() => {
      for (const [n, v] of this.#requestHeaders) stream.setRequestHeader(n, v);
      for (const [n, v] of this.#responseHeaders) stream.addResponseHeader(n, v);
      stream.continueDecoding();
    });
  }

  /** Ends the filter's part once: the other calls are dropped, then `act` answers or resumes. */
  #finish(act: () => void): void {
    this.#finished = true;
    this.onDestroy();
    act();
  }

  onDestroy(): void {
    const cancels = this.#cancels;
    this.#cancels = [];
    this.#finished = true;
    for (const c of cancels) c();
  }
}

/**
 * The global rate limit filter of a route, or null when the route sends no descriptor: the
 * route's rules grouped by service, each service's channel from `clients`.
 */
export function rateLimitFilter(limits: RouteRateLimits | null | undefined, clients: RateLimitClients, stats: StatScope<DownstreamStat>): HttpFilterFactory | null {
  if (!limits || limits.global.length === 0) return null;
  const calls: ServiceCall[] = [];
  const byKey = new Map<string, ServiceCall>();
  for (const { service, rule } of limits.global) {
    const key = rateLimitServiceKey(service);
    let call = byKey.get(key);
    if (call === undefined) {
      call = { service, client: clients.of(service.host, service.port), rules: [] };
      byKey.set(key, call);
      calls.push(call);
    }
    (call.rules as GlobalRateLimitRule[]).push(rule);
  }
  return { shared: null, create: () => new RateLimitFilter(calls, stats) };
}
