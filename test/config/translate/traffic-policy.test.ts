import { describe, expect, test } from 'vitest';
import { isCatchAllCluster } from '../../../host/config/translate/outbound-catch-all.js';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import type { Cluster, MeshConfig } from '../../../host/model/mesh.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const UNLIMITED = 4_294_967_295;
const HOST = 'svc.default.svc.cluster.local';

/** A two-port service (80, 8080) with v1/v2 workloads, plus `dr` (a DestinationRule spec body). */
function files(dr: string): Record<string, string> {
  return {
    'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc}
spec:
  hosts: [svc]
  ports:
  - {number: 80, name: http}
  - {number: 8080, name: http-alt}
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1}}
  - {address: 10.0.0.2, labels: {version: v2}}
`,
    'dr.yaml': `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc}
spec:
  host: svc
${dr}`,
  };
}

function load(dr: string): { mesh: MeshConfig; warnings: string[] } {
  const t = tempYaml(files(dr));
  return loadConfig([t.dir]);
}

function issuesOf(dr: string): { issues: ConfigIssue[]; path: string } {
  const t = tempYaml(files(dr));
  try {
    loadConfig([t.dir]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { issues: (err as ConfigError).issues, path: t.path('dr.yaml') };
  }
  throw new Error('expected a ConfigError');
}

const cluster = (mesh: MeshConfig, port: number, subset = ''): Cluster => mesh.clusters.find((c) => c.name === `outbound|${port}|${subset}|${HOST}`)!;

/** lb, maxConnections (or 'unlimited'), consecutive5xx (or 'off') of one cluster. */
function summary(c: Cluster): [string, number | 'unlimited', number | 'off'] {
  const max = c.policy!.limits.maxConnections;
  return [c.lb, max === UNLIMITED ? 'unlimited' : max, c.policy!.outlier === null ? 'off' : c.policy!.outlier.consecutive5xx];
}

describe('service ← subset ← portLevelSettings, merged as current Istio merges them', () => {
  const MERGE_DR = `  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 10}}
    outlierDetection: {consecutive5xxErrors: 3}
    portLevelSettings:
    - port: {number: 8080}
      loadBalancer: {simple: RANDOM}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 20}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 80}
        outlierDetection: {consecutive5xxErrors: 7}
`;
  const { mesh } = load(MERGE_DR);
  test.each([
    // cluster, expected [lb, maxConnections, consecutive5xx], why
    [80, '', ['ROUND_ROBIN', 10, 3], 'service level as written'],
    [8080, '', ['RANDOM', 'unlimited', 'off'], 'the port entry alone: what it leaves out is default, not inherited'],
    [80, 'v1', ['ROUND_ROBIN', 20, 3], 'the subset replaces connectionPool only'],
    [8080, 'v1', ['RANDOM', 20, 'off'], 'service port entry, then the subset connectionPool'],
    [80, 'v2', ['LEAST_REQUEST', 'unlimited', 7], 'a subset port entry replaces all four sub-policies, unset ones too'],
    [8080, 'v2', ['RANDOM', 'unlimited', 'off'], 'the subset has no entry for 8080 and nothing at top level'],
  ] as const)('port %i subset "%s" → %j (%s)', (port, subset, expected, _why) => {
    expect(summary(cluster(mesh, port, subset))).toEqual(expected);
  });

  test('a sub-policy is taken whole: the subset connectionPool does not keep the service level http settings', () => {
    const { mesh: m } = load(`  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 2s}
      http: {http1MaxPendingRequests: 5}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 20}}
`);
    expect(cluster(m, 80).policy!.limits.maxPendingRequests).toBe(5);
    expect(cluster(m, 80).policy!.connection.connectTimeoutMs).toBe(2000);
    expect(cluster(m, 80, 'v1').policy!.limits).toMatchObject({ maxConnections: 20, maxPendingRequests: UNLIMITED });
    expect(cluster(m, 80, 'v1').policy!.connection.connectTimeoutMs).toBe(10_000);
  });
});

describe('load balancer', () => {
  test.each([
    ['no DestinationRule trafficPolicy', '', 'LEAST_REQUEST'],
    ['simple UNSPECIFIED', '  trafficPolicy: {loadBalancer: {simple: UNSPECIFIED}}\n', 'LEAST_REQUEST'],
    ['simple LEAST_CONN (deprecated alias)', '  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}\n', 'LEAST_REQUEST'],
    ['simple LEAST_REQUEST', '  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}\n', 'LEAST_REQUEST'],
    ['simple ROUND_ROBIN', '  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n', 'ROUND_ROBIN'],
    ['simple RANDOM', '  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n', 'RANDOM'],
    ['simple PASSTHROUGH', '  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}\n', 'PASSTHROUGH'],
    ['only localityLbSetting', '  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}}\n', 'LEAST_REQUEST'],
  ])('%s → %s', (_, dr, lb) => {
    const { mesh } = load(dr);
    // The service's two clusters (default and subset); the catch-all clusters have their own lb.
    expect(mesh.clusters.filter((c) => !isCatchAllCluster(c.name)).map((c) => c.lb)).toEqual([lb, lb]);
    expect(mesh.clusters.every((c) => c.policy !== undefined && c.policy.hash === null)).toBe(true);
  });

  test('LEAST_CONN and unserved fields are warned about', () => {
    const { warnings } = load('  trafficPolicy: {loadBalancer: {simple: LEAST_CONN, localityLbSetting: {enabled: true}}}\n');
    expect(warnings.join('\n')).toMatch(/dr\.yaml:6 \(document 1\) DestinationRule default\/svc: spec\.trafficPolicy\.loadBalancer\.simple: LEAST_CONN is deprecated: it is LEAST_REQUEST/);
    expect(warnings.join('\n')).toMatch(/spec\.trafficPolicy\.loadBalancer\.localityLbSetting is not served yet/);
  });

  test('consistentHash compiles into the cluster policy', () => {
    const { mesh } = load('  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: X-User, maglev: {tableSize: 65537}}}}\n');
    const c = cluster(mesh, 80);
    expect(c.lb).toBe('CONSISTENT_HASH');
    expect(c.policy!.hash).toEqual({ key: { kind: 'header', name: 'x-user' }, table: { kind: 'maglev', tableSize: 65537 }, warnings: [] });
  });
});

describe('connectionPool and outlierDetection', () => {
  test('connection settings: defaults, and every field given', () => {
    const { mesh } = load(`  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool:
        tcp:
          maxConnections: 7
          connectTimeout: 250ms
          tcpKeepalive: {time: 60s, probes: 3}
        http: {http1MaxPendingRequests: 4, http2MaxRequests: 9, maxRequestsPerConnection: 2, maxRetries: 1, idleTimeout: 30s}
      outlierDetection: {consecutive5xxErrors: 2, interval: 5s, baseEjectionTime: 10s, maxEjectionPercent: 100, minHealthPercent: 20}
`);
    expect(cluster(mesh, 80).policy).toEqual({
      connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null },
      limits: { maxConnections: UNLIMITED, maxPendingRequests: UNLIMITED, maxRequests: UNLIMITED, maxRetries: UNLIMITED, maxRequestsPerConnection: 0 },
      outlier: null,
      hash: null,
    });
    const v1 = cluster(mesh, 80, 'v1').policy!;
    expect(v1.connection).toEqual({ connectTimeoutMs: 250, idleTimeoutMs: 30_000, tcpKeepalive: { timeMs: 60_000, intervalMs: 75_000, probes: 3 } });
    expect(v1.limits).toEqual({ maxConnections: 7, maxPendingRequests: 4, maxRequests: 9, maxRetries: 1, maxRequestsPerConnection: 2 });
    expect(v1.outlier).toMatchObject({ consecutive5xx: 2, enforceConsecutive5xx: true, intervalMs: 5000, baseEjectionTimeMs: 10_000, maxEjectionPercent: 100, minHealthPercent: 20 });
  });
});

describe('errors are located on the field, once per rule however many clusters use it', () => {
  test('consistentHash, lb oneof, connectTimeout, outlier interval, port-level settings without port', () => {
    const { issues, path } = issuesOf(`  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpHeaderName: x-user
        maglev: {tableSize: 100}
    connectionPool:
      tcp: {connectTimeout: 0s}
    outlierDetection: {interval: 0s}
    portLevelSettings:
    - loadBalancer: {simple: RANDOM, consistentHash: {useSourceIp: true}}
  subsets:
  - name: v1
    labels: {version: v1}
`);
    expect(issues.map((i) => [i.code, i.line, i.path])).toEqual([
      ['invalid_value', 10, 'spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize'],
      ['invalid_duration', 12, 'spec.trafficPolicy.connectionPool.tcp.connectTimeout'],
      ['invalid_value', 13, 'spec.trafficPolicy.outlierDetection.interval'],
      ['missing_field', 15, 'spec.trafficPolicy.portLevelSettings[0].port'],
      ['invalid_value', 15, 'spec.trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash'],
    ]);
    expect(issues[0]).toMatchObject({ file: path, kind: 'DestinationRule', name: 'default/svc' });
    expect(issues[0]!.reason).toMatch(/consistentHash\.maglev\.tableSize 100 must be a prime number/);
    expect(issues[4]!.reason).toBe('simple and consistentHash cannot both be set (the load balancer is one of them)');
  });
});
