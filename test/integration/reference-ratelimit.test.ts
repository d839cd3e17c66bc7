// wasmesh's global rate limits against the reference rate limit service (envoyproxy/ratelimit,
// built by scripts/install-ratelimit.sh, backed by Redis from Debian): the service counts in
// Redis and answers OVER_LIMIT after its per-minute budget; wasmesh answers 429.
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { proxy, upstream, useCleanup } from './traffic-helpers.js';
import { loadConfig } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { referenceRateLimitForTests, startReferenceRateLimit, type RunningReference } from '../helpers/reference-ratelimit.js';
import { perUserGlobalLimitYaml } from '../helpers/rate-limit-server.js';

useCleanup();
const bins = referenceRateLimitForTests('reference ratelimit');
let running: RunningReference | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

describe.skipIf(bins === null)('global rate limits with envoyproxy/ratelimit and Redis', () => {
  it('two requests per minute per user: the third is 429, other users unaffected, x-ratelimit-* from the service', async () => {
    running = await startReferenceRateLimit(bins!, 'domain: web\ndescriptors:\n  - key: user\n    rate_limit: {unit: minute, requests_per_unit: 2}\n');
    const up = await upstream((_req, res) => res.end('ok'));
    const yaml = perUserGlobalLimitYaml(up.port, running.grpcPort, '    failureModeDeny: true\n');
    const { p } = await proxy(loadConfig([tempYaml({ 'a.yaml': yaml }).dir], {}).mesh);
    const user = `u${Date.now()}`; // Redis keys are per minute window: a fresh user each run
    const as = (u: string) => request(p.port, { headers: { 'x-user': u } });
    const first = await as(user);
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('2, 2;w=60');
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    expect((await as(user)).status).toBe(200);
    const third = await as(user);
    expect(third.status).toBe(429);
    expect(third.headers['x-envoy-ratelimited']).toBe('true');
    expect((await as(`${user}-other`)).status).toBe(200);
    expect(up.requests).toHaveLength(3);
    expect(p.stats.downstream.get('ratelimit.over_limit')).toBe(1);
    expect(p.stats.downstream.get('ratelimit.error')).toBe(0);
  });
});
