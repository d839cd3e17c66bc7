// VirtualService `tcp:` rules and Gateway TCP servers → MeshConfig.tcpRoutes and
// gatewayTcpListeners; bad input gets located errors (file, line, path, why).
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import { cidrProblem } from '../../../host/config/translate/tcp-route.js';
import { selectTcpRoute } from '../../../host/model/tcp-route.js';
import { tempYaml } from '../../helpers/temp-yaml.js';
import { tcpGateway, tcpServiceEntries, tcpVirtualService } from '../../helpers/tcp-yaml.js';

const BACKENDS = tcpServiceEntries([{ name: 'echo-a', port: 9001 }, { name: 'echo-b', port: 9002 }]);

function load(files: Record<string, string>, gateway: string | null = 'tcp-gw') {
  const t = tempYaml(files);
  return loadConfig([t.dir], gateway === null ? {} : { gateway });
}

function issuesOf(files: Record<string, string>, gateway?: string): ConfigIssue[] {
  try {
    load(files, gateway);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('tcp routes on a gateway', () => {
  test('a TCP server becomes a TCP listener; the tcp rule a weighted route to Istio clusters', () => {
    const { mesh, warnings } = load({ 'a.yaml': BACKENDS, 'b.yaml': tcpGateway(31400), 'c.yaml': tcpVirtualService(31400, [{ name: 'echo-a', weight: 75 }, { name: 'echo-b', weight: 25 }]) });
    expect(mesh.gatewayTcpListeners).toEqual([{ port: 31400, protocol: 'TCP', servers: ['default/tcp-gw/0'] }]);
    // The HTTP server on 80 stays an HTTP listener; the TCP port is not one.
    expect(mesh.gatewayListeners?.map((l) => l.port)).toEqual([80]);
    expect(mesh.tcpRoutes).toEqual([{
      name: 'default/tcp-vs/tcp-0',
      virtualService: { namespace: 'default', name: 'tcp-vs' },
      hosts: ['*'],
      matches: [{ port: 31400, destinationSubnets: [], sniHosts: [] }],
      destinations: [{ cluster: 'outbound|7000||echo-a.example.internal', weight: 75 }, { cluster: 'outbound|7000||echo-b.example.internal', weight: 25 }],
    }]);
    const a = mesh.clusters.find((c) => c.name === 'outbound|7000||echo-a.example.internal')!;
    expect(a.protocol).toBe('TCP');
    expect(a.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['127.0.0.1:9001']);
    expect(warnings.filter((w) => w.includes('tcp'))).toEqual([]);
  });

  test('REDIS, MONGO and MYSQL servers are byte-proxy ports too', () => {
    for (const protocol of ['REDIS', 'MONGO', 'MYSQL']) {
      const { mesh } = load({ 'a.yaml': BACKENDS, 'b.yaml': tcpGateway(6379, protocol), 'c.yaml': tcpVirtualService(6379, [{ name: 'echo-a', weight: 1 }]) });
      expect(mesh.gatewayTcpListeners).toEqual([{ port: 6379, protocol, servers: ['default/tcp-gw/0'] }]);
    }
  });

  test('a single destination weighs 100; match blocks for another gateway drop the rule', () => {
    const vs = tcpVirtualService(31400, [{ name: 'echo-a', weight: 0 }]).replace('  - match:\n    - port: 31400\n', '  - match:\n    - port: 31400\n      gateways: [other-gw]\n');
    const { mesh } = load({ 'a.yaml': BACKENDS, 'b.yaml': tcpGateway(31400), 'c.yaml': vs });
    expect(mesh.tcpRoutes).toBeUndefined();
    const one = load({ 'a.yaml': BACKENDS, 'b.yaml': tcpGateway(31400), 'c.yaml': tcpVirtualService(31400, [{ name: 'echo-a', weight: 0 }]) });
    expect(one.mesh.tcpRoutes![0]!.destinations).toEqual([{ cluster: 'outbound|7000||echo-a.example.internal', weight: 100 }]);
  });

  test('a rule for a port the Gateway has no TCP server on is warned about, located', () => {
    const { warnings } = load({ 'a.yaml': BACKENDS, 'b.yaml': tcpGateway(31400), 'c.yaml': tcpVirtualService(31401, [{ name: 'echo-a', weight: 1 }]) });
    expect(warnings.find((w) => w.includes('spec.tcp[0]'))).toMatch(/c\.yaml.*port 31401 is a TCP server port of Gateway default\/tcp-gw \(31400\): connections there are not routed/);
  });

  test('bad input: weights totalling 0, a rule without route, a bad CIDR, sourceSubnet, TLS on a TCP server, a port both HTTP and TCP', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad}
spec:
  hosts: ['*']
  gateways: [tcp-gw]
  tcp:
  - route:
    - destination: {host: echo-a.example.internal}
      weight: 0
    - destination: {host: echo-b.example.internal}
  - match:
    - destinationSubnets: [10.0.0.0/33, not-an-ip, 10.1.0.0/16]
      sourceSubnet: 10.0.0.0/8
    route: []
`;
    const gw = tcpGateway(31400).replace("    hosts: ['*']\n  - port: {number: 80", "    hosts: ['*']\n    tls: {mode: SIMPLE, credentialName: x}\n  - port: {number: 80") + "  - port: {number: 80, name: tcp-80, protocol: TCP}\n    hosts: ['*']\n";
    const issues = issuesOf({ 'a.yaml': BACKENDS, 'b.yaml': gw, 'c.yaml': vs }, 'tcp-gw');
    const lines = issues.map((i) => `${i.file?.replace(/.*\//, '')}:${i.line} ${i.path} ${i.code}: ${i.reason}`);
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^c\.yaml:8 spec\.tcp\[0\]\.route invalid_weight: the weights of the 2 destinations total 0/),
      expect.stringMatching(/^c\.yaml:\d+ spec\.tcp\[1\]\.route missing_field: a TCP rule needs at least one route destination/),
      expect.stringMatching(/^c\.yaml:\d+ spec\.tcp\[1\]\.match\[0\]\.destinationSubnets\[0\] invalid_value: "10\.0\.0\.0\/33": the prefix length must be 0\.\.32/),
      expect.stringMatching(/^c\.yaml:\d+ spec\.tcp\[1\]\.match\[0\]\.destinationSubnets\[1\] invalid_value: "not-an-ip" is not an IP address or CIDR/),
      expect.stringMatching(/^c\.yaml:\d+ spec\.tcp\[1\]\.match\[0\]\.sourceSubnet unsupported_field: sourceSubnet is not served/),
      expect.stringMatching(/^b\.yaml:\d+ spec\.servers\[0\]\.tls unsupported_field: a TCP server is a plain byte proxy/),
      expect.stringMatching(/^b\.yaml:\d+ spec\.servers\[2\]\.port\.number invalid_value: port 80 has both HTTP and TCP servers/),
    ]));
    expect(issues.some((i) => i.path.includes('destinationSubnets[2]'))).toBe(false);
  });

  test('cidrProblem accepts addresses and CIDRs of both families', () => {
    expect(cidrProblem('10.1.2.3')).toBeNull();
    expect(cidrProblem('10.0.0.0/8')).toBeNull();
    expect(cidrProblem('2001:db8::/32')).toBeNull();
    expect(cidrProblem('2001:db8::/129')).toMatch(/0\.\.128/);
    expect(cidrProblem('10.0.0.0/x')).toMatch(/prefix/);
  });
});

describe('tcp routes on sidecars', () => {
  test('mesh-bound tcp rules are translated, and warned as served only with TPROXY interception', () => {
    const vs = tcpVirtualService(7000, [{ name: 'echo-a', weight: 1 }]).replace("hosts: ['*']\n  gateways: [tcp-gw]", 'hosts: [echo-a.example.internal]');
    const { mesh, warnings } = load({ 'a.yaml': BACKENDS, 'c.yaml': vs }, null);
    expect(mesh.tcpRoutes?.map((r) => r.hosts)).toEqual([['echo-a.example.internal']]);
    expect(warnings.some((w) => w.includes('spec.tcp: served on sidecars only with TPROXY interception'))).toBe(true);
  });
});

describe('selectTcpRoute', () => {
  const inSubnet = (address: string, cidr: string): boolean => cidr === `${address}/32`;
  const route = (port: number | null, subnets: string[] = []) => ({ name: 'r', hosts: [], matches: [{ port, destinationSubnets: subnets, sniHosts: [] }], destinations: [] });
  test('first holding match wins; port and subnet both checked; no matches takes all', () => {
    const routes = [route(1), route(2, ['10.0.0.1/32']), { ...route(null), matches: [] }];
    expect(selectTcpRoute(routes, 1, null, inSubnet)).toBe(0);
    expect(selectTcpRoute(routes, 2, '10.0.0.1', inSubnet)).toBe(1);
    expect(selectTcpRoute(routes, 2, '10.0.0.2', inSubnet)).toBe(2);
    expect(selectTcpRoute(routes.slice(0, 2), 3, null, inSubnet)).toBe(-1);
  });
});
