// The seam between the request path and the cluster level, through a real ProxyServer: attempt
// outcomes reach outlier detection (an endpoint answering 5xx is ejected and retries avoid
// it), consistent hashing sees the request's headers, max requests answers 503 UO.
import { describe, it, expect } from 'vitest';
import { circuitBreakerLimitsFromIstio } from '../../host/config/translate/circuit-breaker-limits.js';
import { outlierSettingsFromIstio } from '../../host/config/translate/outlier-settings.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import type { ClusterPolicy } from '../../host/model/mesh.js';
import { request } from '../helpers/http-client.js';
import { proxy, upstream, meshWith, waitFor, useCleanup } from './traffic-helpers.js';

useCleanup();

const policy = (over: Partial<ClusterPolicy> = {}): ClusterPolicy => ({
  connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null },
  limits: circuitBreakerLimitsFromIstio(undefined),
  outlier: null,
  hash: null,
  ...over,
});

describe('request path ↔ cluster manager', () => {
  it('5xx responses eject the endpoint (outlier detection); later requests only reach the healthy one', async () => {
    const bad = await upstream((_req, res) => {
      res.statusCode = 500;
      res.end('bad');
    });
    const good = await upstream((_req, res) => res.end('good'));
    const m = meshWith([{ name: 'backend', ports: [bad.port, good.port] }], { retry: retryPolicyFromIstio({ attempts: 0 }) });
    m.clusters[0]!.policy = policy({ outlier: outlierSettingsFromIstio({ consecutive5xxErrors: 2, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 100 }) });
    const { p } = await proxy(m);
    for (let i = 0; i < 4; i++) await request(p.port);
    expect(bad.requests.length).toBe(2);
    const after = await Promise.all(Array.from({ length: 6 }, () => request(p.port)));
    expect(after.every((r) => r.body.toString() === 'good')).toBe(true);
    expect(bad.requests.length).toBe(2);
    const status = p.clusters()[0]!.endpoints.find((e) => e.port === bad.port)!;
    expect(status.healthy).toBe(false);
    await waitFor(() => p.stats.cluster('backend').get('outlier_detection.ejections_enforced_total') === 1);
  });

  it('consistent hash on a header: the same header value always reaches the same endpoint', async () => {
    const a = await upstream((_req, res) => res.end('a'));
    const b = await upstream((_req, res) => res.end('b'));
    const m = meshWith([{ name: 'backend', ports: [a.port, b.port] }]);
    m.clusters[0]!.lb = 'CONSISTENT_HASH';
    m.clusters[0]!.policy = policy({
      hash: { key: { kind: 'header', name: 'x-user' }, table: { kind: 'ringHash', minimumRingSize: 1024, maximumRingSize: 8_388_608, stableRebuild: true }, warnings: [] },
    });
    const { p } = await proxy(m);
    const seen = new Map<string, Set<string>>();
    // The ring is keyed by the endpoints' ip:port, and the ports differ on every run: with 64
    // users the chance that all land on one endpoint is 2^-63, so both endpoints are seen.
    for (let i = 0; i < 128; i++) {
      const user = `u${i % 64}`;
      const r = await request(p.port, { headers: { 'x-user': user } });
      if (!seen.has(user)) seen.set(user, new Set());
      seen.get(user)!.add(r.body.toString());
    }
    expect([...seen.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBe(2);
  });

  it('max requests (http2MaxRequests) overflows with 503 UO, not retried', async () => {
    const up = await upstream((_req, res) => void setTimeout(() => res.end('ok'), 100));
    const m = meshWith([{ name: 'backend', ports: [up.port] }], { retry: retryPolicyFromIstio({ attempts: 3, retryOn: '5xx,reset' }) });
    m.clusters[0]!.policy = policy({ limits: { ...circuitBreakerLimitsFromIstio(undefined), maxRequests: 1 } });
    const { p, logs } = await proxy(m);
    const rs = await Promise.all([request(p.port), request(p.port)]);
    expect(rs.map((r) => r.status).sort()).toEqual([200, 503]);
    await waitFor(() => logs.length === 2);
    expect(logs.map((l) => l.flags).sort()).toEqual(['-', 'UO']);
    expect(up.requests.length).toBe(1);
  });
});
