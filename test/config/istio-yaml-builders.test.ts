// The Istio YAML builders (host/config/istio-yaml-builders.ts) write exactly the documents the
// tests wrote by hand before (flow style, one endpoint on 127.0.0.1, every host on the
// gateway), and what they write is loaded by the real loader without a warning.
import { describe, expect, it } from 'vitest';
import { destinationRuleYaml, gatewayVirtualServiceYaml, gatewayYaml, HTTP_80, meshServiceEntryYaml, peerAuthenticationYaml, routeTo, staticServiceEntryYaml, tcpRoute, tcpRouteTo, workloadEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';
import { loadYaml } from '../envoy/protocol-fixtures.js';

const greeter = staticServiceEntryYaml({ name: 'greeter', host: 'greeter.example.internal', port: { number: 50051, name: 'grpc', protocol: 'GRPC' }, endpointPort: 15301 });

describe('Istio YAML builders', () => {
  it('write each kind as it is written by hand', () => {
    expect(greeter).toBe(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: greeter}
spec:
  hosts: [greeter.example.internal]
  ports: [{number: 50051, name: grpc, protocol: GRPC}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: 15301}}]
`);
    expect(gatewayYaml('gw')).toBe(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
`);
    expect(gatewayYaml('gw', [HTTP_80, { port: { number: 31400, name: 'tcp', protocol: 'TCP' }, hosts: ['a.test', 'b.test'] }])).toBe(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}
  - {port: {number: 31400, name: tcp, protocol: TCP}, hosts: ['a.test', 'b.test']}
`);
    expect(gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: [routeTo('greeter.example.internal', '/g'), routeTo('plain.example.internal')], tcp: [tcpRouteTo('echo.example.internal', 31400)] })).toBe(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*']
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /g}}]
    route: [{destination: {host: greeter.example.internal}}]
  - route: [{destination: {host: plain.example.internal}}]
  tcp:
  - match: [{port: 31400}]
    route: [{destination: {host: echo.example.internal}}]
`);
    expect(destinationRuleYaml('greeter', 'greeter.example.internal', 'connectionPool:\n  http: {maxConcurrentStreams: 64}\n')).toBe(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: greeter}
spec:
  host: greeter.example.internal
  trafficPolicy:
    connectionPool:
      http: {maxConcurrentStreams: 64}
`);
    expect(yamlDocs('a: 1\n', 'b: 2\n')).toBe('a: 1\n---\nb: 2\n');
  });

  it('the loader takes what they write: the gateway\'s routes to the entries, the rule\'s pool, no warning', () => {
    const { mesh, warnings } = loadYaml({
      'mesh.yaml': yamlDocs(
        greeter,
        destinationRuleYaml('greeter', 'greeter.example.internal', 'connectionPool: {http: {maxConcurrentStreams: 64}}'),
        gatewayYaml('gw'),
        gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: [routeTo('greeter.example.internal', '/g')] }),
      ),
    }, 'gw');
    expect(warnings).toEqual([]);
    expect(mesh.clusters.map((c) => [c.name, c.endpoints.map((e) => `${e.address}:${e.port}`)])).toEqual([['outbound|50051||greeter.example.internal', ['127.0.0.1:15301']]]);
    expect(mesh.virtualHosts.flatMap((v) => v.routes.map((r) => r.name))).toEqual(['default/vs/0']);
  });

  it('an IPv6 endpoint is written quoted and read back as that address', () => {
    const se = staticServiceEntryYaml({ name: 'v6', host: 'v6.example.internal', port: { number: 80, name: 'http', protocol: 'HTTP' }, endpointPort: 8080, address: '::1' });
    expect(se).toContain(`endpoints: [{address: '::1', ports: {http: 8080}}]`);
    const { mesh, warnings } = loadYaml({ 'mesh.yaml': yamlDocs(se, gatewayYaml('gw'), gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: [routeTo('v6.example.internal')] })) }, 'gw');
    expect(warnings).toEqual([]);
    expect(mesh.clusters.map((c) => c.endpoints.map((e) => [e.address, e.port]))).toEqual([[['::1', 8080]]]);
  });

  it('the mesh mTLS set: PeerAuthentication, a MESH_INTERNAL ServiceEntry selecting a WorkloadEntry with the tlsMode label, in namespaces', () => {
    const pa = peerAuthenticationYaml('STRICT');
    expect(pa).toBe(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`);
    const se = meshServiceEntryYaml({ name: 'beta', namespace: 'shop', host: 'beta.shop.svc.cluster.local', port: { number: 6379, name: 'tcp-redis', protocol: 'TCP' }, selector: { app: 'beta' } });
    expect(se).toBe(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: beta, namespace: shop}
spec:
  hosts: [beta.shop.svc.cluster.local]
  ports: [{number: 6379, name: tcp-redis, protocol: TCP}]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: {app: beta}}
`);
    // Several hosts: one flow list.
    expect(meshServiceEntryYaml({ name: 'app', host: ['app.example', 'alias.example'], port: { number: 80, name: 'http', protocol: 'HTTP' }, selector: { app: 'app' } }))
      .toContain('metadata: {name: app}\nspec:\n  hosts: [app.example, alias.example]\n  ports:');
    // VIPs quoted (IPv6 among them); a WorkloadEntry without ports takes the service's.
    expect(meshServiceEntryYaml({ name: 'r', host: 'r.example', addresses: ['198.51.100.60', 'fd00::60'], port: { number: 6379, name: 'tcp-redis', protocol: 'TCP' }, selector: { app: 'r' } }))
      .toContain('  hosts: [r.example]\n  addresses: [\'198.51.100.60\', \'fd00::60\']\n  ports:');
    expect(workloadEntryYaml({ name: 'r-1', address: '198.51.100.1', serviceAccount: 'r', labels: { app: 'r' } })).toMatch(/labels: \{app: r\}\n$/);
    const we = workloadEntryYaml({ name: 'beta-1', namespace: 'shop', address: '127.0.0.1', serviceAccount: 'default', labels: { app: 'beta', 'security.istio.io/tlsMode': 'istio' }, ports: { 'tcp-redis': 16379 } });
    expect(we).toContain('labels: {app: beta, security.istio.io/tlsMode: istio}\n  ports: {tcp-redis: 16379}\n');
    const { mesh, warnings } = loadYaml({
      // STRICT needs a workload identity to load (unenforced_security): PERMISSIVE here.
      'mesh.yaml': yamlDocs(peerAuthenticationYaml('PERMISSIVE'), se, we, gatewayYaml('gw', [{ port: { number: 7000, name: 'tcp', protocol: 'TCP' } }], 'istio-system'),
        gatewayVirtualServiceYaml({ name: 'vs', namespace: 'istio-system', gateway: 'gw', tcp: [tcpRoute({ port: 7000 }, [{ host: 'beta.shop.svc.cluster.local', port: 6379 }])] })),
    }, 'istio-system/gw');
    // Only what a loader without a workload identity says of any such mesh.
    expect((warnings ?? []).filter((w) => !/no workload identity|carried as TCP by sidecars/.test(w))).toEqual([]);
    const beta = mesh.clusters.find((c) => c.name === 'outbound|6379||beta.shop.svc.cluster.local')!;
    expect(beta.endpoints.map((e) => [e.address, e.port, e.labels['security.istio.io/tlsMode']])).toEqual([['127.0.0.1', 16379, 'istio']]);
  });
});
