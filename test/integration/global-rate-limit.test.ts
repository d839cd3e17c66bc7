// Global rate limits through a real ProxyServer, translated from YAML, against a real local gRPC
// rate limit server: over-limit answered 429 by the proxy, the upstream never reached.
import { describe, expect, it, afterEach } from 'vitest';
import { request } from '../helpers/http-client.js';
import { proxy, upstream, useCleanup } from './traffic-helpers.js';
import { budgetDecider, perUserGlobalLimitYaml, startRateLimitServer } from '../helpers/rate-limit-server.js';
import { loadConfig } from '../../host/config/index.js';
import { tempYaml } from '../helpers/temp-yaml.js';

useCleanup();
const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('global rate limit through the proxy', () => {
  it('a RateLimitPolicy global rule: the service\'s OVER_LIMIT becomes 429 with x-envoy-ratelimited', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const rls = await startRateLimitServer(budgetDecider(2));
    servers.push(rls);
    const yaml = perUserGlobalLimitYaml(up.port, rls.port);
    const { mesh } = loadConfig([tempYaml({ 'a.yaml': yaml }).dir], {});
    const { p, logs } = await proxy(mesh);
    const as = (user: string) => request(p.port, { headers: { 'x-user': user } });
    expect([(await as('a')).status, (await as('a')).status]).toEqual([200, 200]);
    const over = await as('a');
    expect(over.status).toBe(429);
    expect(over.headers['x-envoy-ratelimited']).toBe('true');
    expect((await as('b')).status).toBe(200);
    expect((await request(p.port)).status).toBe(200); // no descriptor: no call
    expect(rls.requests.map((r) => r.descriptors)).toEqual([[[['user', 'a']]], [[['user', 'a']]], [[['user', 'a']]], [[['user', 'b']]]]);
    expect(up.requests).toHaveLength(4);
    expect(logs.some((l) => l.flags.includes('RL'))).toBe(true);
    expect(p.stats.downstream.get('ratelimit.over_limit')).toBe(1);
  });
});
