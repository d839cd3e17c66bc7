// The local rate limit filter on a fake stream: 429 with Envoy's body, flag RL and the
// x-ratelimit-* headers after the bucket empties, per-descriptor buckets (header, principal,
// path, remote address), rules that do not apply, the stats, and no filter without rules.
import { describe, expect, it } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import { LocalRateLimiter } from '../../../host/core/ratelimit/local-rate-limiter.js';
import { LOCAL_RATE_LIMITED_BODY, localRateLimitFilter } from '../../../host/http/filters/local-rate-limit.js';
import { FilterStatus, type HttpFilter } from '../../../host/http/filter.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { DescriptorSource, LocalRateLimitRule } from '../../../host/model/rate-limit.js';
import { fakeStream, type FakeRequest } from '../../helpers/fake-stream.js';

const core = new Core();

function rule(name: string, maxTokens: number, descriptor: DescriptorSource[] = [], extra: Partial<LocalRateLimitRule> = {}): LocalRateLimitRule {
  return { name, bucket: { maxTokens, tokensPerFill: 1, fillIntervalMs: 10_000 }, descriptor, maxDynamicDescriptors: 20, responseHeaders: true, ...extra };
}

function setup(rules: LocalRateLimitRule[]) {
  const clock = { now: 0 };
  const limiter = new LocalRateLimiter(core, () => clock.now);
  const stats = new Stats();
  limiter.begin();
  const factory = localRateLimitFilter(rules, limiter, stats.downstream)!;
  limiter.commit();
  const filter = factory.create();
  return { filter, factory, clock, stats, limiter };
}

function send(filter: HttpFilter, req: FakeRequest = {}, principal?: string) {
  const s = fakeStream(req);
  if (principal !== undefined) (s.downstream as { security: unknown }).security = { peerSpiffeId: principal };
  const status = filter.onRequestHeaders!(s);
  return { status, s };
}

describe('local rate limit filter', () => {
  it('is absent without rules', () => {
    const limiter = new LocalRateLimiter(core);
    expect(localRateLimitFilter([], limiter, new Stats().downstream)).toBeNull();
    expect(localRateLimitFilter(undefined, limiter, new Stats().downstream)).toBeNull();
  });

  it('lets maxTokens requests through with x-ratelimit-* and answers the next 429 local_rate_limited, flag RL', () => {
    const { filter, factory, stats, clock } = setup([rule('a', 2)]);
    expect(factory.shared).toBe(filter);
    const first = send(filter);
    expect(first.status).toBe(FilterStatus.Continue);
    expect(first.s.responseHeaders).toEqual([['x-ratelimit-limit', '2'], ['x-ratelimit-remaining', '1'], ['x-ratelimit-reset', '0']]);
    expect(send(filter).s.responseHeaders).toEqual([['x-ratelimit-limit', '2'], ['x-ratelimit-remaining', '0'], ['x-ratelimit-reset', '10']]);
    const third = send(filter);
    expect(third.status).toBe(FilterStatus.StopIteration);
    expect(third.s.replies).toEqual([{ status: '429 Too Many Requests', headers: [['x-ratelimit-limit', '2'], ['x-ratelimit-remaining', '0'], ['x-ratelimit-reset', '10']], body: LOCAL_RATE_LIMITED_BODY, flag: 'RL' }]);
    expect(third.s.flags).toEqual(['RL']);
    clock.now += 10_000;
    expect(send(filter).status).toBe(FilterStatus.Continue);
    const d = stats.downstream;
    expect([d.get('http_local_rate_limit.enabled'), d.get('http_local_rate_limit.ok'), d.get('http_local_rate_limit.rate_limited'), d.get('http_local_rate_limit.enforced')]).toEqual([4, 3, 1, 1]);
  });

  it('responseHeaders off: no x-ratelimit-* on either answer', () => {
    const { filter } = setup([rule('a', 1, [], { responseHeaders: false })]);
    expect(send(filter).s.responseHeaders).toEqual([]);
    expect(send(filter).s.replies[0]!.headers).toEqual([]);
  });

  it('a header descriptor: one bucket per value; requests without the header are not limited by the rule', () => {
    const { filter } = setup([rule('per-user', 1, [{ kind: 'requestHeader', header: 'x-user', key: 'x-user' }])]);
    expect(send(filter, { headers: { 'x-user': 'alice' } }).status).toBe(FilterStatus.Continue);
    expect(send(filter, { headers: { 'x-user': 'bob' } }).status).toBe(FilterStatus.Continue);
    expect(send(filter, { headers: { 'x-user': 'alice' } }).status).toBe(FilterStatus.StopIteration);
    for (let i = 0; i < 5; i++) expect(send(filter).status).toBe(FilterStatus.Continue);
  });

  it('source principal (spiffe:// dropped), path and remote address descriptors', () => {
    const { filter: byPrincipal } = setup([rule('p', 1, [{ kind: 'sourcePrincipal', key: 'source_principal' }])]);
    expect(send(byPrincipal, {}, 'spiffe://cluster.local/ns/a/sa/x').status).toBe(FilterStatus.Continue);
    expect(send(byPrincipal, {}, 'spiffe://cluster.local/ns/a/sa/y').status).toBe(FilterStatus.Continue);
    expect(send(byPrincipal, {}, 'spiffe://cluster.local/ns/a/sa/x').status).toBe(FilterStatus.StopIteration);
    expect(send(byPrincipal).status).toBe(FilterStatus.Continue); // plaintext peer: no principal, rule n/a
    const { filter: byPath } = setup([rule('path', 1, [{ kind: 'path', key: 'path' }])]);
    expect(send(byPath, { path: '/a' }).status).toBe(FilterStatus.Continue);
    expect(send(byPath, { path: '/b' }).status).toBe(FilterStatus.Continue);
    expect(send(byPath, { path: '/a' }).status).toBe(FilterStatus.StopIteration);
    const { filter: byAddress } = setup([rule('addr', 1, [{ kind: 'remoteAddress', key: 'remote_address' }])]);
    expect(send(byAddress).status).toBe(FilterStatus.Continue);
    expect(send(byAddress).status).toBe(FilterStatus.StopIteration); // the fake stream's one client address
  });

  it('every applicable rule takes a token, descriptors before the default bucket; the fewest remaining is reported', () => {
    const { filter } = setup([rule('wide', 5), rule('per-user', 2, [{ kind: 'requestHeader', header: 'x-user', key: 'user' }])]);
    const r = send(filter, { headers: { 'x-user': 'a' } });
    expect(r.s.responseHeaders).toContainEqual(['x-ratelimit-remaining', '1']);
    expect(send(filter, { headers: { 'x-user': 'a' } }).status).toBe(FilterStatus.Continue);
    const limited = send(filter, { headers: { 'x-user': 'a' } });
    expect(limited.status).toBe(FilterStatus.StopIteration);
    expect(limited.s.replies[0]!.headers).toContainEqual(['x-ratelimit-limit', '2']);
    // The wide bucket had 5: two taken for a; none for the refused request (as Envoy, the first
    // rule without descriptor is its default bucket, taken only once the descriptors let the
    // request through: test/sidecar/inbound-rate-limits.test.ts checks the real Envoy); one now.
    expect(send(filter).s.responseHeaders).toContainEqual(['x-ratelimit-remaining', '2']);
  });

  it('Envoy\'s order: descriptors by fill rate, slowest first (equal rates in rule order), the first plain rule last', () => {
    const user = [{ kind: 'requestHeader' as const, header: 'x-user', key: 'user' }];
    // fast: 1 token per 50 ms, holds 1; slow: 1 per 10 s, holds 3; plain: 1 per 10 s, holds 10 (the clock stands still).
    const fast = { ...rule('fast', 1, user), bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 50 } };
    const { filter } = setup([rule('plain', 10), fast, rule('slow', 3, user)]);
    expect(send(filter, { headers: { 'x-user': 'a' } }).status).toBe(FilterStatus.Continue);
    // fast refuses; slow (taken first, the slower rate) keeps its token taken, plain is not reached.
    const refused = send(filter, { headers: { 'x-user': 'a' } });
    expect(refused.status).toBe(FilterStatus.StopIteration);
    expect(refused.s.replies[0]!.headers).toContainEqual(['x-ratelimit-limit', '1']);
    const other = send(filter, { headers: { 'x-user': 'b' } });
    expect(other.status).toBe(FilterStatus.Continue);
    // plain: 10 − a − b = 8; slow for b: 2; fast for b: 0: the fewest (fast's 0) is reported.
    expect(other.s.responseHeaders).toContainEqual(['x-ratelimit-remaining', '0']);
    expect(send(filter).s.responseHeaders).toContainEqual(['x-ratelimit-remaining', '7']);
  });
});
