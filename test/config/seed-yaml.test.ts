import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../host/config/index.js';

const SEED2 = 'test/config/fixtures/seed-002';
const SEED3 = 'test/config/fixtures/seed-003';

describe('seed 002 (Getting Started with Istio Service Mesh)', () => {
  test('served at its gateway: the bookinfo rule loads; later features are kept and warned about', () => {
    const config = loadConfig([SEED2], { gateway: 'sampleapp-gateway', namespace: 'testing' });
    expect(config.resources.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'DestinationRule/productpage',
      'DestinationRule/reviews',
      'DestinationRule/ratings',
      'DestinationRule/details',
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
    expect(config.mesh.clusters).toEqual([
      { name: 'outbound|9080||productpage.testing.svc.cluster.local', host: 'productpage.testing.svc.cluster.local', port: 9080, subset: null, endpoints: [], lb: 'ROUND_ROBIN' },
    ]);
    const w = config.warnings.join('\n');
    expect(w).toMatch(/enable-strict-mode\.yml:2 \(document 1\) PeerAuthentication default: security\.istio\.io\/v1beta1 PeerAuthentication is not served yet; skipped/);
    expect(w).toMatch(/VirtualService testing\/productpage: spec\.http\[0\]\.retries is not served yet/);
    expect(w).toMatch(/VirtualService testing\/reviews: spec\.http\[1\]\.mirror is not served yet/);
    expect(w).toMatch(/VirtualService testing\/reviews: spec\.http\[1\]\.mirrorPercent is not served yet/);
    expect(w).toMatch(/DestinationRule testing\/productpage: spec\.trafficPolicy\.connectionPool is not served yet/);
    expect(w).toMatch(/DestinationRule testing\/ratings: spec\.trafficPolicy\.outlierDetection is not served yet/);
    expect(w).toMatch(/no ServiceEntry defines host productpage\.testing\.svc\.cluster\.local/);
  });

  test('the resource model keeps later-issue fields, proto names in JSON form', () => {
    const config = loadConfig([SEED2], { gateway: 'sampleapp-gateway' });
    const reviews = config.resources.find((r) => r.kind === 'VirtualService' && r.name === 'reviews')!;
    const http = (reviews.spec as { http: Array<Record<string, unknown>> }).http;
    expect(http[1]).toMatchObject({ mirror: { host: 'reviews', subset: 'v3' }, mirrorPercent: 100, timeout: '2s' });
    const ratings = config.resources.find((r) => r.kind === 'DestinationRule' && r.name === 'ratings')!;
    expect(ratings.spec).toMatchObject({ trafficPolicy: { outlierDetection: { consecutiveErrors: 5, interval: '30s', baseEjectionTime: '1m', maxEjectionPercent: 50 } } });
  });

  test('in mesh mode the reviews regex match would be served, so it is refused where it is written', () => {
    let error: ConfigError | null = null;
    try {
      loadConfig([SEED2]);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((i) => [i.code, i.file, i.doc, i.line, i.name, i.path])).toEqual([
      ['unsupported_field', `${SEED2}/virtual-service-all.yml`, 2, 32, 'default/reviews', 'spec.http[0].match[0].headers.user-agent.regex'],
    ]);
  });
});

describe('seed 003 (Istio101)', () => {
  test('the middleware rules and the egress ServiceEntry load in mesh mode', () => {
    const config = loadConfig([SEED3]);
    const vh = config.mesh.virtualHosts;
    expect(vh.map((v) => v.name)).toEqual(['middleware.default.svc.cluster.local', 'time.jsontest.com:80', 'time.jsontest.com:443']);
    const [canary, prod] = vh[0]!.routes;
    expect(canary!.matches).toEqual([{ uri: null, ignoreUriCase: false, headers: [{ name: 'x-dev-user', match: { kind: 'exact', value: 'super-secret' }, invert: false }] }]);
    expect(canary!.destinations[0]!.cluster).toBe('outbound|0|canary|middleware.default.svc.cluster.local');
    expect(prod!.matches).toEqual([]);
    // DNS resolution without endpoints: the host itself is the endpoint.
    const http = config.mesh.clusters.find((c) => c.name === 'outbound|80||time.jsontest.com')!;
    expect(http.endpoints).toEqual([{ address: 'time.jsontest.com', port: 80, labels: {}, weight: 1 }]);
    const w = config.warnings.join('\n');
    expect(w).toMatch(/DestinationRule default\/middleware: spec\.trafficPolicy\.tls is not served yet/);
    expect(w).toMatch(/spec\.ports\[1\]\.protocol: protocol HTTPS is not served yet/);
    expect(w).toMatch(/resolution DNS: endpoint addresses \(or the host itself when there are none\)/);
  });
});
