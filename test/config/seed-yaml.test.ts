import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../host/config/index.js';
import type { Cluster, MeshConfig } from '../../host/model/mesh.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { block } from './model-builders.js';

const UNLIMITED = 4_294_967_295;
const DEFAULT_POLICY = {
  connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null },
  limits: { maxConnections: UNLIMITED, maxPendingRequests: UNLIMITED, maxRequests: UNLIMITED, maxRetries: UNLIMITED, maxRequestsPerConnection: 0 },
  outlier: null,
  hash: null,
};
const clusterOf = (mesh: MeshConfig, name: string): Cluster => {
  const c = mesh.clusters.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no cluster ${name} in ${mesh.clusters.map((x) => x.name).join(', ')}`);
  return c;
};

const SEED2 = 'test/config/fixtures/seed-002';
const SEED3 = 'test/config/fixtures/seed-003';

/** What the seeds ask for and wasmesh cannot enforce yet is only loaded with the flag. */
const UNENFORCED = { allowUnenforcedSecurity: true } as const;

describe('seed 002 (Getting Started with Istio Service Mesh)', () => {
  test('its PeerAuthentication STRICT is refused without --allow-unenforced-security, located, and nothing loads', () => {
    let error: unknown = null;
    try {
      loadConfig([SEED2], { gateway: 'sampleapp-gateway', namespace: 'testing' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        code: 'unenforced_security',
        file: `${SEED2}/enable-strict-mode.yml`,
        doc: 1,
        line: 8,
        kind: 'PeerAuthentication',
        name: 'testing/default',
        path: 'spec.mtls.mode',
        reason:
          'PeerAuthentication testing/default cannot be enforced by this version: mutual TLS mode STRICT (only mTLS connections accepted): ' +
          'the proxy has no workload identity (start it with --token-file or --cert-dir, so that it gets its certificate from the mesh CA), so plaintext connections would be accepted; refusing to serve open (--allow-unenforced-security runs without it)',
      },
    ]);
  });

  test('its PeerAuthentication STRICT loads with a workload identity and reaches the sidecar\'s inbound port as STRICT', () => {
    const config = loadConfig([SEED2], { namespace: 'testing', workloadIdentity: true });
    expect(config.resources.map((r) => `${r.kind}/${r.name}`)).toContain('PeerAuthentication/default');
    expect(config.warnings.join('\n')).not.toMatch(/NOT ENFORCED/);
    expect(config.mesh.inboundMtlsMode).toBe('STRICT');
    // Without an identity the same file is refused (the test above): STRICT is never served open.
  });

  test('served at its gateway: the bookinfo rule loads; the DestinationRule connectionPool takes effect', () => {
    const config = loadConfig([SEED2], { gateway: 'sampleapp-gateway', namespace: 'testing', ...UNENFORCED });
    expect(config.resources.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'DestinationRule/productpage',
      'DestinationRule/reviews',
      'DestinationRule/ratings',
      'DestinationRule/details',
      // Kept in the resources (config_dump shows it), not enforced.
      'PeerAuthentication/default',
      'Gateway/sampleapp-gateway',
      'VirtualService/productpage',
      'VirtualService/reviews',
      'VirtualService/ratings',
      'VirtualService/details',
      'VirtualService/bookinfo',
    ]);
    const vh = config.mesh.virtualHosts;
    expect(vh.map((v) => v.domains)).toEqual([['*']]);
    expect(vh[0]!.routes[0]!.matches.map((m) => m.uri)).toEqual([
      { kind: 'exact', value: '/productpage' },
      { kind: 'prefix', value: '/static' },
      { kind: 'exact', value: '/login' },
      { kind: 'exact', value: '/logout' },
      { kind: 'prefix', value: '/api/v1/products' },
    ]);
    // No ServiceEntry for productpage (the seed runs on Kubernetes): an empty cluster, 503 at runtime.
    expect(vh[0]!.routes[0]!.destinations[0]!.cluster).toBe('outbound|9080||productpage.testing.svc.cluster.local');
    // The productpage DestinationRule's connectionPool applies to the cluster the gateway uses
    // (Istio's LEAST_REQUEST default, no loadBalancer given).
    expect(config.mesh.clusters).toEqual([
      {
        name: 'outbound|9080||productpage.testing.svc.cluster.local', host: 'productpage.testing.svc.cluster.local', port: 9080, subset: null, endpoints: [], lb: 'LEAST_REQUEST',
        policy: {
          connection: { connectTimeoutMs: 1000, idleTimeoutMs: 60_000, tcpKeepalive: { timeMs: 3_600_000, intervalMs: 60_000, probes: 9 } },
          limits: { maxConnections: 50, maxPendingRequests: 25, maxRequests: 5, maxRetries: 3, maxRequestsPerConnection: 50 },
          outlier: null,
          hash: null,
        },
        destinationRule: { namespace: 'testing', name: 'productpage' },
      },
    ]);
    const w = config.warnings.join('\n');
    // With the flag: one warning, saying plainly that the STRICT mode is not enforced.
    expect(config.warnings.filter((x) => x.includes('PeerAuthentication'))).toEqual([
      `${SEED2}/enable-strict-mode.yml:8 (document 1) PeerAuthentication testing/default: spec.mtls.mode: NOT ENFORCED: mutual TLS mode STRICT (only mTLS connections accepted): ` +
        'the proxy has no workload identity (start it with --token-file or --cert-dir, so that it gets its certificate from the mesh CA), so plaintext connections would be accepted; served without this protection because of --allow-unenforced-security',
    ]);
    expect(w).not.toMatch(/retries is not served|mirror is not served|connectionPool is not served|outlierDetection is not served/);
    expect(w).toMatch(/DestinationRule testing\/ratings: spec\.trafficPolicy\.outlierDetection\.consecutiveErrors is deprecated and ignored/);
    expect(w).toMatch(/no ServiceEntry defines host productpage\.testing\.svc\.cluster\.local/);
  });

  test('the resource model keeps later-issue fields, proto names in JSON form', () => {
    const config = loadConfig([SEED2], { gateway: 'sampleapp-gateway', ...UNENFORCED });
    const reviews = config.resources.find((r) => r.kind === 'VirtualService' && r.name === 'reviews')!;
    const http = (reviews.spec as { http: Array<Record<string, unknown>> }).http;
    expect(http[1]).toMatchObject({ mirror: { host: 'reviews', subset: 'v3' }, mirrorPercent: 100, timeout: '2s' });
    const ratings = config.resources.find((r) => r.kind === 'DestinationRule' && r.name === 'ratings')!;
    expect(ratings.spec).toMatchObject({ trafficPolicy: { outlierDetection: { consecutiveErrors: 5, interval: '30s', baseEjectionTime: '1m', maxEjectionPercent: 50 } } });
  });

  test('in mesh mode: jason with Chrome to v2 (2 s timeout), others to v1 mirrored 100 % to v3; productpage retries; ratings outlier detection', () => {
    const { mesh } = loadConfig([SEED2], UNENFORCED);
    const reviews = mesh.virtualHosts.find((v) => v.name === 'reviews.default.svc.cluster.local')!;
    const [jason, others] = reviews.routes;
    expect(jason!.matches).toEqual([
      block({
        headers: [
          { name: 'end-user', match: { kind: 'exact', value: 'jason' }, invert: false },
          { name: 'user-agent', match: { kind: 'regex', value: '.*Chrome.*' }, invert: false },
        ],
      }),
    ]);
    expect(jason!.destinations.map((d) => d.cluster)).toEqual(['outbound|0|v2|reviews.default.svc.cluster.local']);
    expect(jason!.timeoutMs).toBe(2000);
    expect(jason!.mirrors).toEqual([]);
    expect(others!.matches).toEqual([]);
    expect(others!.destinations.map((d) => d.cluster)).toEqual(['outbound|0|v1|reviews.default.svc.cluster.local']);
    expect(others!.timeoutMs).toBe(2000);
    // mirror_percent (the proto name) is the deprecated mirrorPercent: 100.
    expect(others!.mirrors).toEqual([{ cluster: 'outbound|0|v3|reviews.default.svc.cluster.local', percentage: 100 }]);
    // The mirror's cluster is emitted although no route sends primary traffic to v3.
    expect(clusterOf(mesh, 'outbound|0|v3|reviews.default.svc.cluster.local')).toMatchObject({ subset: 'v3', endpoints: [], lb: 'LEAST_REQUEST', policy: DEFAULT_POLICY });
    // Routes without retries get Istio's default policy.
    expect(jason!.retry).toEqual(retryPolicyFromIstio(undefined));

    const productpage = mesh.virtualHosts.find((v) => v.name === 'productpage.default.svc.cluster.local')!.routes[0]!;
    expect(productpage.retry).toEqual({
      retries: 2, retryOn: ['gateway-error', 'connect-failure', 'refused-stream'], retriableStatusCodes: [], perTryTimeoutMs: 1000, backoffBaseMs: 25, backoffMaxMs: 250,
    });
    // The service-level policy reaches the subset clusters (the subsets set none of their own).
    expect(clusterOf(mesh, 'outbound|0|v1|productpage.default.svc.cluster.local').policy!.limits.maxConnections).toBe(50);

    // ratings: consecutiveErrors is ignored (current Istio), so Envoy's 5 consecutive 5xx apply.
    const ratings = clusterOf(mesh, 'outbound|0|v1|ratings.default.svc.cluster.local');
    expect(ratings.policy!.outlier).toMatchObject({
      consecutive5xx: 5, enforceConsecutive5xx: true, intervalMs: 30_000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50,
    });
    expect(clusterOf(mesh, 'outbound|0|v1|details.default.svc.cluster.local').policy).toEqual(DEFAULT_POLICY);
  });
});

describe('seed 003 (Istio101)', () => {
  test('the middleware rules and the egress ServiceEntry load in mesh mode (its ISTIO_MUTUAL only with the flag)', () => {
    expect(() => loadConfig([SEED3])).toThrow(/middleware\.yaml:12 \(document 1\) DestinationRule default\/middleware: spec\.trafficPolicy\.tls\.mode: .*tls mode ISTIO_MUTUAL.*\[unenforced_security\]/);
    const config = loadConfig([SEED3], UNENFORCED);
    const vh = config.mesh.virtualHosts;
    expect(vh.map((v) => v.name)).toEqual(['middleware.default.svc.cluster.local', 'time.jsontest.com:80', 'time.jsontest.com:443', 'allow_any']);
    const [canary, prod] = vh[0]!.routes;
    expect(canary!.matches).toEqual([block({ headers: [{ name: 'x-dev-user', match: { kind: 'exact', value: 'super-secret' }, invert: false }] })]);
    expect(canary!.destinations[0]!.cluster).toBe('outbound|0|canary|middleware.default.svc.cluster.local');
    expect(prod!.matches).toEqual([]);
    // retries: {attempts: 3, perTryTimeout: 2s} on both rules, Istio's default conditions.
    const seedRetry = { ...retryPolicyFromIstio(undefined), retries: 3, perTryTimeoutMs: 2000 };
    expect(canary!.retry).toEqual(seedRetry);
    expect(prod!.retry).toEqual(seedRetry);
    // DNS resolution without endpoints: the host itself is the endpoint.
    const http = config.mesh.clusters.find((c) => c.name === 'outbound|80||time.jsontest.com')!;
    expect(http.endpoints).toEqual([{ address: 'time.jsontest.com', port: 80, labels: {}, weight: 1 }]);
    const w = config.warnings.join('\n');
    expect(w).toMatch(/DestinationRule default\/middleware: spec\.trafficPolicy\.tls\.mode: NOT ENFORCED: tls mode ISTIO_MUTUAL .*requests would leave in plaintext; served without this protection/);
    expect(w).toMatch(/spec\.ports\[1\]\.protocol: protocol HTTPS: carried as TCP by sidecars that see original destinations/);
    // The proxy resolves and refreshes the name itself now (host/upstream/dns-refresher.ts): no warning.
    expect(w).not.toMatch(/resolution DNS/);
  });
});
