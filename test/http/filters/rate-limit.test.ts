// The global rate limit filter on a fake stream against a real local gRPC rate limit server:
// descriptors sent, OK (headers from the service), OVER_LIMIT (429, RL, x-envoy-ratelimited),
// errors and timeouts with both failure modes, no call without a descriptor, stats, and the
// DRAFT_VERSION_03 headers' format.
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimitFilter, xRateLimitHeaders } from '../../../host/http/filters/rate-limit.js';
import { RateLimitClients } from '../../../host/xds/rate-limit-client.js';
import { FilterStatus } from '../../../host/http/filter.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { RateLimitService, RouteRateLimits } from '../../../host/model/rate-limit.js';
import { fakeStream, type FakeRequest } from '../../helpers/fake-stream.js';
import { budgetDecider, startRateLimitServer, type Decide, type RateLimitServer } from '../../helpers/rate-limit-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(decide: Decide, service: Partial<RateLimitService> = {}) {
  const server = await startRateLimitServer(decide);
  const clients = new RateLimitClients();
  cleanups.push(() => server.close(), () => clients.close());
  const svc: RateLimitService = { policy: 'default/p', host: '127.0.0.1', port: server.port, domain: 'web', timeoutMs: 2000, failureModeDeny: false, responseHeaders: true, rules: [], ...service };
  const limits: RouteRateLimits = {
    local: [],
    global: [
      { service: svc, rule: { name: 'default/p/global/0', descriptor: [{ kind: 'genericKey', key: 'generic_key', value: 'all' }, { kind: 'requestHeader', header: 'x-user', key: 'user' }] } },
      { service: svc, rule: { name: 'default/p/global/1', descriptor: [{ kind: 'path', key: 'path' }] } },
    ],
  };
  const stats = new Stats();
  const factory = rateLimitFilter(limits, clients, stats.downstream)!;
  return { server, factory, stats };
}

/** Runs the filter on one request; resolves when it resumed or answered. */
async function run(factory: NonNullable<ReturnType<typeof rateLimitFilter>>, req: FakeRequest) {
  const s = fakeStream(req);
  const filter = factory.create();
  const status = filter.onRequestHeaders!(s);
  if (status === FilterStatus.StopIteration) {
    const end = Date.now() + 3000;
    while (s.resumed === 0 && s.replies.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  }
  filter.onDestroy?.(s);
  return { status, s };
}

describe('global rate limit filter', () => {
  it('is absent for a route without descriptors', () => {
    expect(rateLimitFilter(null, new RateLimitClients(), new Stats().downstream)).toBeNull();
    expect(rateLimitFilter({ local: [], global: [] }, new RateLimitClients(), new Stats().downstream)).toBeNull();
  });

  it('sends the descriptors the request produces; OK resumes with the service\'s headers, OVER_LIMIT answers 429 RL', async () => {
    const { server, factory, stats } = await setup(budgetDecider(1));
    const ok = await run(factory, { path: '/a', headers: { 'x-user': 'alice' } });
    expect(ok.s.resumed).toBe(1);
    expect(server.requests[0]).toEqual({ domain: 'web', descriptors: [[['generic_key', 'all'], ['user', 'alice']], [['path', '/a']]] });
    expect(ok.s.responseHeaders).toEqual([['x-ratelimit-limit', '1, 1;w=60;name="budget", 1;w=60;name="budget"'], ['x-ratelimit-remaining', '0'], ['x-ratelimit-reset', '42']]);
    const over = await run(factory, { path: '/a', headers: { 'x-user': 'alice' } });
    expect(over.s.replies).toHaveLength(1);
    expect(over.s.replies[0]!.status).toBe('429 Too Many Requests');
    expect(over.s.replies[0]!.body).toBe('');
    expect(over.s.replies[0]!.flag).toBe('RL');
    expect(over.s.replies[0]!.headers).toContainEqual(['x-envoy-ratelimited', 'true']);
    // Without x-user only the path descriptor is produced.
    await run(factory, { path: '/b' });
    expect(server.requests[2]!.descriptors).toEqual([[['path', '/b']]]);
    expect([stats.downstream.get('ratelimit.ok'), stats.downstream.get('ratelimit.over_limit')]).toEqual([2, 1]);
  });

  it('the service\'s request and response headers on OK, its raw_body on OVER_LIMIT', async () => {
    let n = 0;
    const { factory } = await setup(() => (++n === 1
      ? { overall_code: 1, request_headers_to_add: [{ key: 'x-quota', value: 'left' }], response_headers_to_add: [{ key: 'X-Hint', value: 'slow down' }] }
      : { overall_code: 2, raw_body: Buffer.from('too many') }));
    const ok = await run(factory, { path: '/' });
    expect(ok.s.requestHeader('x-quota')).toBe('left');
    expect(ok.s.responseHeaders).toEqual([['x-hint', 'slow down']]);
    const over = await run(factory, { path: '/' });
    expect(over.s.replies[0]!.body).toBe('too many');
  });

  it('a failing or silent service: allowed by default (failure_mode_allowed), 500 RLSE with failureModeDeny', async () => {
    const open = await setup(() => 'error');
    const allowed = await run(open.factory, { path: '/' });
    expect(allowed.s.resumed).toBe(1);
    expect([open.stats.downstream.get('ratelimit.error'), open.stats.downstream.get('ratelimit.failure_mode_allowed')]).toEqual([1, 1]);
    const closed = await setup(() => 'hang', { failureModeDeny: true, timeoutMs: 100 });
    const started = Date.now();
    const denied = await run(closed.factory, { path: '/' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(denied.s.replies[0]).toMatchObject({ status: '500 Internal Server Error', body: '', flag: 'RLSE' });
    expect(closed.stats.downstream.get('ratelimit.error')).toBe(1);
  });

  it('an unreachable service is an error, not a hang', async () => {
    const { factory, server } = await setup(() => 'error', { failureModeDeny: true, timeoutMs: 500 });
    await server.close();
    const r = await run(factory, { path: '/' });
    expect(r.s.replies[0]!.flag).toBe('RLSE');
  });
});

describe('global rate limit filter over copies of the model', () => {
  it('rules whose service objects are copies (a worker\'s structured clone, the xDS msgpack) still make one call', async () => {
    const server = await startRateLimitServer(() => ({ overall_code: 1 }));
    const clients = new RateLimitClients();
    cleanups.push(() => server.close(), () => clients.close());
    const svc: RateLimitService = { policy: 'default/p', host: '127.0.0.1', port: server.port, domain: 'web', timeoutMs: 2000, failureModeDeny: false, responseHeaders: false, rules: [] };
    const limits: RouteRateLimits = structuredClone({ local: [], global: [
      { service: { ...svc }, rule: { name: 'a', descriptor: [{ kind: 'genericKey', key: 'k', value: 'a' }] } },
      { service: { ...svc }, rule: { name: 'b', descriptor: [{ kind: 'genericKey', key: 'k', value: 'b' }] } },
    ] });
    const factory = rateLimitFilter(limits, clients, new Stats().downstream)!;
    const r = await run(factory, { path: '/' });
    expect(r.s.resumed).toBe(1);
    expect(server.requests).toEqual([{ domain: 'web', descriptors: [[['k', 'a']], [['k', 'b']]] }]);
  });
});

describe('xRateLimitHeaders (DRAFT_VERSION_03)', () => {
  it('the fewest remaining gives remaining and reset; the limit lists each quota policy; nothing without a limit', () => {
    expect(xRateLimitHeaders([
      { code: 1, requestsPerUnit: 1, windowSeconds: 60, name: 'first', remaining: 2, resetSeconds: 3 },
      { code: 1, requestsPerUnit: 4, windowSeconds: 3600, name: 'second', remaining: 5, resetSeconds: 6 },
    ])).toEqual([['x-ratelimit-limit', '1, 1;w=60;name="first", 4;w=3600;name="second"'], ['x-ratelimit-remaining', '2'], ['x-ratelimit-reset', '3']]);
    expect(xRateLimitHeaders([{ code: 1, requestsPerUnit: null, windowSeconds: null, name: '', remaining: 0, resetSeconds: 0 }])).toEqual([]);
  });
});
