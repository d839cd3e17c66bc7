// The seed scenarios under examples/ (002 bookinfo rules, 003 Istio101) load into the model the
// issue describes, with endpoints on loopback so `wasmesh demo` can run them.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../host/config/index.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { compileRouteTable } from '../../host/compile/route-table.js';

const endpointsOf = (mesh: MeshConfig, name: string): string[] =>
  mesh.clusters.find((c) => c.name === name)!.endpoints.map((e) => `${e.address}:${e.port}`);

describe('examples/002-bookinfo-rules', () => {
  const DIR = 'examples/002-bookinfo-rules';
  const ns = 'default.svc.cluster.local';

  test('mesh mode: reviews jason+Chrome → v2 (2 s), others → v1 mirrored to v3; DestinationRule policies', () => {
    const { mesh } = loadConfig([DIR]);
    const reviews = mesh.virtualHosts.find((v) => v.name === `reviews.${ns}`)!;
    expect(reviews.domains).toContain('reviews:9080');
    const [jason, others] = reviews.routes;
    expect(jason!.destinations.map((d) => d.cluster)).toEqual([`outbound|9080|v2|reviews.${ns}`]);
    expect(jason!.timeoutMs).toBe(2000);
    expect(others!.mirrors).toEqual([{ cluster: `outbound|9080|v3|reviews.${ns}`, percentage: 100 }]);
    expect(endpointsOf(mesh, `outbound|9080|v2|reviews.${ns}`)).toEqual(['127.0.0.1:15212']);
    expect(endpointsOf(mesh, `outbound|9080|v3|reviews.${ns}`)).toEqual(['127.0.0.1:15213']);
    const productpage = mesh.virtualHosts.find((v) => v.name === `productpage.${ns}`)!.routes[0]!;
    expect(productpage.retry).toMatchObject({ retries: 2, retryOn: ['gateway-error', 'connect-failure', 'refused-stream'], perTryTimeoutMs: 1000 });
    const pp = mesh.clusters.find((c) => c.name === `outbound|9080|v1|productpage.${ns}`)!;
    expect(pp.policy!.limits).toEqual({ maxConnections: 50, maxPendingRequests: 25, maxRequests: 5, maxRetries: 3, maxRequestsPerConnection: 50 });
    const ratings = mesh.clusters.find((c) => c.name === `outbound|9080|v1|ratings.${ns}`)!;
    // An endpoint is ejected after 5 consecutive 5xx, for baseEjectionTime (1m) × ejections.
    expect(ratings.policy!.outlier).toMatchObject({ consecutive5xx: 5, enforceConsecutive5xx: true, intervalMs: 30_000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 });
    // The table compiles (the user-agent regex included).
    expect(compileRouteTable(mesh).length).toBeGreaterThan(0);
  });

  test('gateway mode: the bookinfo paths to productpage:9080', () => {
    const { mesh } = loadConfig([DIR], { gateway: 'sampleapp-gateway' });
    expect(mesh.virtualHosts.map((v) => v.domains)).toEqual([['*']]);
    expect(mesh.virtualHosts[0]!.routes[0]!.destinations[0]!.cluster).toBe(`outbound|9080||productpage.${ns}`);
    expect(endpointsOf(mesh, `outbound|9080||productpage.${ns}`)).toEqual(['127.0.0.1:15201']);
  });
});

describe('examples/003-istio101', () => {
  const DIR = 'examples/003-istio101';
  const ns = 'default.svc.cluster.local';
  const seedRetry = { ...retryPolicyFromIstio(undefined), retries: 3, perTryTimeoutMs: 2000 };

  test('without --allow-unenforced-security the seed\'s three ISTIO_MUTUAL rules are refused, each located', () => {
    const error = ((): unknown => {
      try {
        loadConfig([DIR]);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => [i.code, i.line, i.name, i.path])).toEqual([
      ['unenforced_security', 14, 'default/frontend', 'spec.trafficPolicy.tls.mode'],
      ['unenforced_security', 28, 'default/middleware', 'spec.trafficPolicy.tls.mode'],
      ['unenforced_security', 45, 'default/backend', 'spec.trafficPolicy.tls.mode'],
    ]);
  });

  test('mesh mode: x-dev-user: super-secret → middleware canary, everyone else prod; retries on every hop', () => {
    const config = loadConfig([DIR], { allowUnenforcedSecurity: true });
    const { mesh } = config;
    const [canary, prod] = mesh.virtualHosts.find((v) => v.name === `middleware.${ns}`)!.routes;
    expect(canary!.matches[0]!.headers).toEqual([{ name: 'x-dev-user', match: { kind: 'exact', value: 'super-secret' }, invert: false }]);
    expect(endpointsOf(mesh, canary!.destinations[0]!.cluster)).toEqual(['127.0.0.1:15312']);
    expect(endpointsOf(mesh, prod!.destinations[0]!.cluster)).toEqual(['127.0.0.1:15311']);
    expect([canary!.retry, prod!.retry]).toEqual([seedRetry, seedRetry]);
    const backend = mesh.virtualHosts.find((v) => v.name === `backend.${ns}`)!.routes[0]!;
    expect(backend.retry).toEqual(seedRetry);
    expect(endpointsOf(mesh, backend.destinations[0]!.cluster)).toEqual(['127.0.0.1:15321']);
    expect(config.warnings.filter((w) => w.includes('NOT ENFORCED')).length).toBe(3);
    expect(config.warnings.join('\n')).toMatch(/DestinationRule default\/middleware: spec\.trafficPolicy\.tls\.mode: NOT ENFORCED: tls mode ISTIO_MUTUAL/);
  });

  test('gateway mode: the frontend with retries', () => {
    const { mesh } = loadConfig([DIR], { gateway: 'frontend-gateway', allowUnenforcedSecurity: true });
    const route = mesh.virtualHosts[0]!.routes[0]!;
    expect(route.retry).toEqual(seedRetry);
    expect(endpointsOf(mesh, route.destinations[0]!.cluster)).toEqual(['127.0.0.1:15301']);
  });
});
