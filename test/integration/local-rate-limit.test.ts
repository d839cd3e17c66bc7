// Local rate limits through a real ProxyServer over loopback: N requests pass, the next gets
// 429 local_rate_limited with x-ratelimit-*, the bucket refills, a route's own limit, per-header
// buckets, stats, the access log's RL flag, and a reload that keeps an unchanged rule's tokens.
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http-client.js';
import { proxy, upstream, meshWith, useCleanup, waitFor } from './traffic-helpers.js';
import type { LocalRateLimitRule } from '../../host/model/rate-limit.js';
import type { MeshConfig } from '../../host/model/mesh.js';

useCleanup();

const rule = (name: string, maxTokens: number, fillIntervalMs: number, extra: Partial<LocalRateLimitRule> = {}): LocalRateLimitRule => ({
  name, bucket: { maxTokens, tokensPerFill: 1, fillIntervalMs }, descriptor: [], maxDynamicDescriptors: 20, responseHeaders: true, ...extra,
});

describe('local rate limit through the proxy', () => {
  it('answers 429 after maxTokens with Envoy body and headers, counts, logs RL, and refills', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const m: MeshConfig = { ...meshWith([{ name: 'backend', ports: [up.port] }]), rateLimit: { local: [rule('default/p/local/0', 2, 400)], services: [] } };
    const { p, logs } = await proxy(m);
    const a = await request(p.port);
    expect([a.status, a.headers['x-ratelimit-limit'], a.headers['x-ratelimit-remaining']]).toEqual([200, '2', '1']);
    const b = await request(p.port);
    expect([b.status, b.headers['x-ratelimit-remaining']]).toEqual([200, '0']);
    const c = await request(p.port);
    expect(c.status).toBe(429);
    expect(c.body.toString()).toBe('local_rate_limited');
    expect([c.headers['x-ratelimit-limit'], c.headers['x-ratelimit-remaining'], c.headers['x-ratelimit-reset']]).toEqual(['2', '0', '1']);
    expect(up.requests).toHaveLength(2);
    await waitFor(() => logs.length === 3);
    expect(logs[2]!.flags).toContain('RL');
    const d = p.stats.downstream;
    expect([d.get('http_local_rate_limit.enabled'), d.get('http_local_rate_limit.ok'), d.get('http_local_rate_limit.rate_limited'), d.get('http_local_rate_limit.enforced')]).toEqual([3, 2, 1, 1]);
    await new Promise((r) => setTimeout(r, 450));
    expect((await request(p.port)).status).toBe(200);
  });

  it('a route\'s own limit applies to that route only; per-header buckets', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], {
      rateLimit: { local: [rule('default/p/local/u@default/vs/0', 1, 60_000, { descriptor: [{ kind: 'requestHeader', header: 'x-user', key: 'x-user' }] })], global: [] },
    }, '/limited');
    m.virtualHosts[0]!.routes.push({ ...m.virtualHosts[0]!.routes[0]!, name: 'default/vs/1', matches: [], rateLimit: null });
    const { p } = await proxy(m);
    const as = (user: string, path = '/limited') => request(p.port, { path, headers: { 'x-user': user } }).then((r) => r.status);
    expect([await as('alice'), await as('bob'), await as('alice'), await as('bob')]).toEqual([200, 200, 429, 429]);
    expect([await as('alice', '/other'), await as('alice', '/other')]).toEqual([200, 200]);
    expect((await request(p.port, { path: '/limited' })).status).toBe(200); // no x-user: the rule does not apply
  });

  it('a reload keeps an unchanged rule\'s bucket; changing the bucket starts a fresh one', async () => {
    const up = await upstream((_req, res) => res.end('ok'));
    const base = meshWith([{ name: 'backend', ports: [up.port] }]);
    const withLimit = (maxTokens: number): MeshConfig => ({ ...base, rateLimit: { local: [rule('default/p/local/0', maxTokens, 60_000)], services: [] } });
    const { p } = await proxy(withLimit(1));
    expect((await request(p.port)).status).toBe(200);
    expect((await request(p.port)).status).toBe(429);
    p.apply(withLimit(1), 2);
    expect((await request(p.port)).status).toBe(429);
    p.apply(withLimit(2), 3);
    expect([(await request(p.port)).status, (await request(p.port)).status, (await request(p.port)).status]).toEqual([200, 200, 429]);
    p.apply(base, 4); // no rules: no filter, nothing limited
    expect((await request(p.port)).status).toBe(200);
  });
});
