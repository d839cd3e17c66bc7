// VirtualService `tls:` rules and Gateway passthrough servers → MeshConfig.tlsRoutes and
// gatewayPassthroughListeners: sniHosts narrowed to the servers' hosts, ports, weights, the
// AUTO_PASSTHROUGH SNI form; Istio's checks as located errors (file, line, path, why); and the
// model's SNI matching.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../../host/config/index.js';
import { autoPassthroughSni, selectTlsRoute, sniMatches } from '../../../host/model/tls-route.js';
import type { TcpRoute } from '../../../host/model/tcp-route.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const SERVICES = ['a', 'b'].map((n) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${n}}
spec:
  hosts: [${n}.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tls: 900${n === 'a' ? 1 : 2}}}]
`).join('---\n');

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ['*.example.com']
    tls: {mode: PASSTHROUGH}
  - port: {number: 8443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {credentialName: ignored}
  - port: {number: 15443, name: auto, protocol: TLS}
    hosts: ['*.local']
    tls: {mode: AUTO_PASSTHROUGH}
`;

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*.example.com']
  gateways: [gw]
  tls:
  - match:
    - {port: 443, sniHosts: [a.example.com, other.org.example.com]}
    route:
    - destination: {host: a.example.com}
  - match:
    - sniHosts: ['*.example.com']
    route:
    - destination: {host: a.example.com}
      weight: 30
    - destination: {host: b.example.com}
      weight: 70
`;

function load(files: Record<string, string>, gateway: string | null = 'gw') {
  const t = tempYaml(files);
  return loadConfig([t.dir], gateway === null ? {} : { gateway });
}

function lines(files: Record<string, string>, gateway: string | null = 'gw'): string[] {
  try {
    load(files, gateway);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i: ConfigIssue) => `${i.file?.replace(/.*\//, '')}:${i.line} ${i.path} ${i.code}: ${i.reason}`);
  }
  throw new Error('expected a ConfigError');
}

describe('tls routes on a gateway', () => {
  test('PASSTHROUGH servers (the default mode too) become passthrough ports; tls rules routes narrowed to their hosts per port', () => {
    const { mesh } = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': VS });
    expect(mesh.gatewayPassthroughListeners).toEqual([
      { port: 443, mode: 'PASSTHROUGH', servers: ['default/gw/1'], hosts: ['*.example.com'] },
      { port: 8443, mode: 'PASSTHROUGH', servers: ['default/gw/2'], hosts: ['a.example.com'] },
      { port: 15443, mode: 'AUTO_PASSTHROUGH', servers: ['default/gw/3'], hosts: ['*.local'] },
    ]);
    // The passthrough ports are no HTTP listeners.
    expect(mesh.gatewayListeners?.map((l) => l.port)).toEqual([80]);
    expect(mesh.tlsRoutes).toEqual([
      {
        name: 'default/vs/tls-0',
        virtualService: { namespace: 'default', name: 'vs' },
        hosts: ['*.example.com'],
        matches: [{ port: 443, destinationSubnets: [], sniHosts: ['a.example.com', 'other.org.example.com'] }],
        destinations: [{ cluster: 'outbound|443||a.example.com', weight: 100 }],
      },
      {
        name: 'default/vs/tls-1',
        virtualService: { namespace: 'default', name: 'vs' },
        hosts: ['*.example.com'],
        // No port: once per PASSTHROUGH port, with the hosts each port's servers take.
        matches: [
          { port: 443, destinationSubnets: [], sniHosts: ['*.example.com'] },
          { port: 8443, destinationSubnets: [], sniHosts: ['a.example.com'] },
        ],
        destinations: [{ cluster: 'outbound|443||a.example.com', weight: 30 }, { cluster: 'outbound|443||b.example.com', weight: 70 }],
      },
    ]);
  });

  test('a rule no PASSTHROUGH server takes is warned about, located; a server namespace limits the VirtualServices', () => {
    const vs = VS.replace("- {port: 443, sniHosts: [a.example.com, other.org.example.com]}", '- {port: 9999, sniHosts: [a.example.com]}');
    const { mesh, warnings } = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs });
    expect(mesh.tlsRoutes!.map((r) => r.name)).toEqual(['default/vs/tls-1']);
    expect(warnings.find((w) => w.includes('spec.tls[0]'))).toMatch(/c\.yaml.*no PASSTHROUGH server of Gateway default\/gw \(ports 443, 8443\) takes these sniHosts on this port/);
    const gw = GATEWAY.replace("hosts: ['*.example.com']\n    tls: {mode: PASSTHROUGH}", "hosts: ['other/*.example.com']\n    tls: {mode: PASSTHROUGH}");
    const scoped = load({ 'a.yaml': SERVICES, 'b.yaml': gw, 'c.yaml': VS });
    expect(scoped.mesh.tlsRoutes!.flatMap((r) => r.matches.map((m) => m.port))).toEqual([8443]);
  });

  test("a match's gateways, sourceLabels and sourceNamespace are decided for this proxy, as for HTTP", () => {
    const vs = VS.replace("- {port: 443, sniHosts: [a.example.com, other.org.example.com]}", "- {port: 443, sniHosts: [a.example.com], gateways: [other-gw]}\n    - {port: 443, sniHosts: [b.example.com], sourceNamespace: elsewhere}\n    - {port: 443, sniHosts: [c.example.com], sourceLabels: {istio: ingressgateway}}")
      .replace('  gateways: [gw]\n', '  gateways: [gw, other-gw]\n');
    const t = tempYaml({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs });
    // The gateway proxy's own labels (--labels) are what sourceLabels select, as for HTTP rules.
    const { mesh } = loadConfig([t.dir], { gateway: 'gw', labels: { istio: 'ingressgateway' } });
    expect(mesh.tlsRoutes![0]!.name).toBe('default/vs/tls-0');
    expect(mesh.tlsRoutes![0]!.matches.map((m) => m.sniHosts)).toEqual([['c.example.com']]);
    const unlabelled = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs });
    expect(unlabelled.mesh.tlsRoutes!.map((r) => r.name)).toEqual(['default/vs/tls-1']);
  });

  test('tls rules bound to the mesh only are not on the gateway; a sidecar gets them (served with TPROXY only, warned)', () => {
    const vs = VS.replace('  gateways: [gw]\n', '');
    const g = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs });
    expect(g.mesh.tlsRoutes).toBeUndefined();
    expect(g.warnings.some((w) => /spec\.tls.*served on sidecars only with TPROXY interception/.test(w))).toBe(true);
    const t = tempYaml({ 'a.yaml': SERVICES, 'c.yaml': vs });
    const sidecar = loadConfig([t.dir], {});
    expect(sidecar.mesh.tlsRoutes!.map((r) => r.name)).toEqual(['default/vs/tls-0', 'default/vs/tls-1']);
    expect(sidecar.mesh.tlsRoutes![0]!.matches[0]!.sniHosts.length).toBeGreaterThan(0);
  });

  test("Istio's checks: a match, sniHosts, DNS names within the VirtualService hosts, a route, weights, CIDRs", () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bad}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  tls:
  - match: []
    route:
    - destination: {host: a.example.com}
  - match:
    - sniHosts: []
    - sniHosts: [b.example.com, 'bad_name!', '*.example.com']
      destinationSubnets: [10.0.0.0/40]
    route: []
  - match:
    - sniHosts: [a.example.com]
    route:
    - destination: {host: a.example.com}
      weight: 0
    - destination: {host: b.example.com}
`;
    expect(lines({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs })).toEqual(expect.arrayContaining([
      expect.stringMatching(/^c\.yaml:8 spec\.tls\[0\]\.match missing_field: a TLS rule needs at least one match condition/),
      expect.stringMatching(/^c\.yaml:12 spec\.tls\[1\]\.match\[0\]\.sniHosts missing_field: a TLS match needs at least one SNI host/),
      expect.stringMatching(/^c\.yaml:13 spec\.tls\[1\]\.match\[1\]\.sniHosts\[0\] invalid_value: SNI host "b\.example\.com" is not a compatible subset of any of the virtual service hosts: \[a\.example\.com\]/),
      expect.stringMatching(/^c\.yaml:13 spec\.tls\[1\]\.match\[1\]\.sniHosts\[1\] invalid_value: "bad_name!" is not a DNS name or wildcard/),
      expect.stringMatching(/^c\.yaml:13 spec\.tls\[1\]\.match\[1\]\.sniHosts\[2\] invalid_value: SNI host "\*\.example\.com" is not a compatible subset/),
      expect.stringMatching(/^c\.yaml:14 spec\.tls\[1\]\.match\[1\]\.destinationSubnets\[0\] invalid_value: "10\.0\.0\.0\/40": the prefix length must be 0\.\.32/),
      expect.stringMatching(/^c\.yaml:15 spec\.tls\[1\]\.route missing_field: a TLS rule needs at least one route destination/),
      expect.stringMatching(/^c\.yaml:18 spec\.tls\[2\]\.route invalid_weight: the weights of the 2 destinations total 0/),
    ]));
  });

  test('an IP address as sniHost is a warning (Istio: against the SNI spec), not an error', () => {
    const vs = VS.replace('[a.example.com, other.org.example.com]', '[10.1.2.3]').replace("hosts: ['*.example.com']", "hosts: ['*']");
    const { warnings } = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY, 'c.yaml': vs });
    expect(warnings.find((w) => w.includes('sniHosts[0]'))).toMatch(/IP address \("10\.1\.2\.3"\) goes against the SNI spec/);
  });

  test('passthrough servers: TLS or HTTPS only, one kind and one mode per port; certificates ignored with a warning', () => {
    const gw = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 9000, name: tcp, protocol: TCP}
    hosts: ['*']
    tls: {mode: PASSTHROUGH}
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [a.example.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 443, name: tls2, protocol: TLS}
    hosts: [b.example.com]
    tls: {mode: AUTO_PASSTHROUGH}
  - port: {number: 8443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem}
  - port: {number: 8443, name: https2, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: PASSTHROUGH}
`;
    const out = lines({ 'a.yaml': SERVICES, 'b.yaml': gw });
    expect(out).toEqual(expect.arrayContaining([
      expect.stringMatching(/^b\.yaml:\d+ spec\.servers\[1\]\.port\.protocol invalid_value: TLS mode PASSTHROUGH passes TLS through: the port's protocol must be TLS or HTTPS, not TCP/),
      expect.stringMatching(/^b\.yaml:\d+ spec\.servers\[3\]\.tls\.mode invalid_value: port 443 has both PASSTHROUGH and AUTO_PASSTHROUGH servers/),
      expect.stringMatching(/^b\.yaml:\d+ spec\.servers\[5\]\.port\.number invalid_value: port 8443 has a passthrough server and a server that is not \(servers\[4\]\)/),
    ]));
    const warned = load({ 'a.yaml': SERVICES, 'b.yaml': GATEWAY.replace('tls: {mode: PASSTHROUGH}', 'tls: {mode: PASSTHROUGH, credentialName: web}') });
    expect(warned.warnings.find((w) => w.includes('spec.servers[1].tls.credentialName'))).toMatch(/does not terminate TLS: credentialName is ignored/);
  });
});

describe('SNI matching (host/model/tls-route.ts)', () => {
  test('exact, wildcard suffix, *, case, no SNI', () => {
    expect(sniMatches('a.example.com', 'A.EXAMPLE.com')).toBe(true);
    expect(sniMatches('a.example.com', 'b.example.com')).toBe(false);
    expect(sniMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(sniMatches('*.example.com', 'a.b.example.com')).toBe(true);
    expect(sniMatches('*.example.com', 'example.com')).toBe(false);
    expect(sniMatches('*.example.com', '.example.com')).toBe(false);
    expect(sniMatches('*', 'anything')).toBe(true);
    expect(sniMatches('*', null)).toBe(true);
    expect(sniMatches('*.example.com', null)).toBe(false);
  });

  test('the first route whose match holds (port, SNI, destination subnet)', () => {
    const r = (sni: string[], port: number | null, subnets: string[] = []): TcpRoute => ({ name: sni.join(), hosts: [], matches: [{ port, destinationSubnets: subnets, sniHosts: sni }], destinations: [] });
    const routes = [r(['a.example.com'], 443, ['10.0.0.0/8']), r(['a.example.com'], 443), r(['*.example.com'], null)];
    const inSubnet = (addr: string, cidr: string): boolean => cidr === '10.0.0.0/8' && addr.startsWith('10.');
    expect(selectTlsRoute(routes, 443, 'a.example.com', '10.1.1.1', inSubnet)).toBe(0);
    expect(selectTlsRoute(routes, 443, 'a.example.com', '127.0.0.1', inSubnet)).toBe(1);
    expect(selectTlsRoute(routes, 8443, 'a.example.com', '127.0.0.1', inSubnet)).toBe(2);
    expect(selectTlsRoute(routes, 443, 'x.org', '127.0.0.1', inSubnet)).toBe(-1);
    expect(selectTlsRoute(routes, 443, null, '127.0.0.1', inSubnet)).toBe(-1);
  });

  test("AUTO_PASSTHROUGH SNI: Istio's outbound_.<port>_.<subset>_.<host>", () => {
    expect(autoPassthroughSni(8080, null, 'helloworld.sample.svc.cluster.local')).toBe('outbound_.8080_._.helloworld.sample.svc.cluster.local');
    expect(autoPassthroughSni(9080, 'v1', 'reviews.default.svc.cluster.local')).toBe('outbound_.9080_.v1_.reviews.default.svc.cluster.local');
  });
});
