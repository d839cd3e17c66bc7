// wasmesh's resources: a config split into a header, a virtual host and a cluster each, and put
// back together in the header's order from the bodies alone (in any order); a changed endpoint
// changes one cluster's body and nothing else; a missing piece or a foreign body is refused
// with WASMESH_RESOURCE_INVALID.
import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { assembleProxyConfig, proxyConfigResources, type WasmeshProxyConfig } from '../../host/xds/wasmesh-resource.js';
import { noHeaderOps, type Cluster } from '../../host/model/mesh.js';

const cluster = (name: string, address: string): Cluster => ({ name, host: name, port: 80, subset: null, endpoints: [{ address, port: 80, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN' } as unknown as Cluster);
const config = (version: string, address: string): WasmeshProxyConfig => ({
  version,
  warnings: ['w'],
  mesh: {
    virtualHosts: [{ name: 'b', domains: ['b'], routes: [] }, { name: 'a', domains: ['a'], routes: [{ name: 'r', matches: [], destinations: [], requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null }] }] as never,
    clusters: [cluster('c2', '10.0.0.2'), cluster('c1', address)],
  },
});

describe('wasmesh resources', () => {
  it('round-trips in the header\'s order whatever the order of the bodies', () => {
    const c = config('7', '10.0.0.1');
    const rs = proxyConfigResources(c);
    expect(rs.map((r) => r.name)).toEqual(['proxy', 'vh/b', 'vh/a', 'c/c2', 'c/c1']);
    expect(assembleProxyConfig(rs.map((r) => r.body).reverse())).toEqual(c);
  });

  it('an endpoint change changes one cluster; the control plane\'s version alone changes no stable body', () => {
    const before = proxyConfigResources(config('1', '10.0.0.1'));
    const after = proxyConfigResources(config('2', '10.0.0.9'));
    const differs = before.filter((r, i) => !Buffer.from(r.stable).equals(Buffer.from(after[i]!.stable))).map((r) => r.name);
    expect(differs).toEqual(['c/c1']);
  });

  it('refuses a missing piece, a foreign body and a config with two clusters of one name', () => {
    const rs = proxyConfigResources(config('1', '10.0.0.1'));
    expect(() => assembleProxyConfig(rs.filter((r) => r.name !== 'c/c1').map((r) => r.body))).toThrow(/cluster c1 is named by the header but not among the resources \(WASMESH_RESOURCE_INVALID\)/);
    expect(() => assembleProxyConfig(rs.slice(1).map((r) => r.body))).toThrow(/no proxy resource/);
    expect(() => assembleProxyConfig([pack({ version: '1' })])).toThrow(/WASMESH_RESOURCE_INVALID/);
    expect(() => assembleProxyConfig([Uint8Array.from([0xc1])])).toThrow(/WASMESH_RESOURCE_INVALID/);
    const dup = config('1', '10.0.0.1');
    dup.mesh.clusters.push(cluster('c1', '10.0.0.3'));
    expect(() => proxyConfigResources(dup)).toThrow(/two resources named c\/c1/);
  });

  it('carries the proxy\'s AuthorizationPolicies in the header (none: absent), and refuses a header whose authorization is not a list', () => {
    const c = config('3', '10.0.0.1');
    c.mesh.authorization = [{ name: 'default/deny-admin', action: 'DENY', dryRun: false, provider: null, rules: [{ from: [], to: [[{ attribute: 'request.path', values: [{ kind: 'prefix', value: '/admin' }], notValues: [] }]], when: [] }] }];
    const rs = proxyConfigResources(c);
    expect(assembleProxyConfig(rs.map((r) => r.body))).toEqual(c);
    expect('authorization' in assembleProxyConfig(proxyConfigResources(config('3', '10.0.0.1')).map((r) => r.body)).mesh).toBe(false);
    const bad = pack(['proxy', { version: '1', warnings: [], virtualHosts: [], clusters: [], authorization: { name: 'x' } }]);
    expect(() => assembleProxyConfig([bad])).toThrow(/authorization is not a list \(WASMESH_RESOURCE_INVALID\)/);
  });

  it('carries the proxy-wide rate limits in the header (RateLimitPolicy), refusing a malformed one', () => {
    const service = { policy: 'default/p', host: 'rls', port: 8081, domain: 'd', timeoutMs: 20, failureModeDeny: false, responseHeaders: true, rules: [] };
    const c = config('3', '10.0.0.1');
    c.mesh.rateLimit = { local: [{ name: 'default/p/local/0', bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, descriptor: [], maxDynamicDescriptors: 20, responseHeaders: true }], services: [service] };
    expect(assembleProxyConfig(proxyConfigResources(c).map((r) => r.body)).mesh.rateLimit).toEqual(c.mesh.rateLimit);
    const bad = proxyConfigResources(config('3', '10.0.0.1'));
    bad[0] = { ...bad[0]!, body: pack(['proxy', { version: '3', warnings: [], virtualHosts: ['b', 'a'], clusters: ['c2', 'c1'], rateLimit: { local: 1 } }]) };
    expect(() => assembleProxyConfig(bad.map((r) => r.body))).toThrow(/rateLimit lacks local or services lists/);
  });

  it('carries the proxy\'s tracing config in the header, refusing a malformed one', () => {
    const c = config('3', '10.0.0.1');
    c.mesh.tracing = { provider: { name: 'zipkin', kind: 'zipkin', service: 'zipkin', port: 9411, path: '/api/v2/spans', maxTagLength: 256 }, samplingPercentage: 1, customTags: [{ tag: 't', kind: 'literal', value: 'v' }], disableSpanReporting: false };
    expect(assembleProxyConfig(proxyConfigResources(c).map((r) => r.body)).mesh.tracing).toEqual(c.mesh.tracing);
    c.mesh.inboundTracing = null;
    expect(assembleProxyConfig(proxyConfigResources(c).map((r) => r.body)).mesh.inboundTracing).toBeNull();
    expect('tracing' in assembleProxyConfig(proxyConfigResources(config('3', '10.0.0.1')).map((r) => r.body)).mesh).toBe(false);
    const bad = proxyConfigResources(config('3', '10.0.0.1'));
    bad[0] = { ...bad[0]!, body: pack(['proxy', { version: '3', warnings: [], virtualHosts: ['b', 'a'], clusters: ['c2', 'c1'], tracing: { provider: {} } }]) };
    expect(() => assembleProxyConfig(bad.map((r) => r.body))).toThrow(/tracing lacks provider, samplingPercentage or customTags/);
  });

  it('carries the Telemetry API metrics overrides in the header, refusing a malformed one', () => {
    const c = config('3', '10.0.0.1');
    c.mesh.metricsOverrides = { client: { REQUEST_DURATION: { disabled: true, remove: ['response_flags'], upsert: [['mesh_id', 'm1']] } }, server: {} };
    expect(assembleProxyConfig(proxyConfigResources(c).map((r) => r.body)).mesh.metricsOverrides).toEqual(c.mesh.metricsOverrides);
    expect('metricsOverrides' in assembleProxyConfig(proxyConfigResources(config('3', '10.0.0.1')).map((r) => r.body)).mesh).toBe(false);
    const bad = proxyConfigResources(config('3', '10.0.0.1'));
    bad[0] = { ...bad[0]!, body: pack(['proxy', { version: '3', warnings: [], virtualHosts: ['b', 'a'], clusters: ['c2', 'c1'], metricsOverrides: { client: {} } }]) };
    expect(() => assembleProxyConfig(bad.map((r) => r.body))).toThrow(/metricsOverrides lacks client or server/);
  });

  it('carries a sidecar inbound\'s rate limits (RateLimitPolicy context SIDECAR_INBOUND), refusing a malformed one', () => {
    const c = config('3', '10.0.0.1');
    c.mesh.inboundRateLimit = { local: [{ name: 'default/p/local/0', bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, descriptor: [], maxDynamicDescriptors: 20, responseHeaders: true }], services: [] };
    const back = assembleProxyConfig(proxyConfigResources(c).map((r) => r.body)).mesh;
    expect(back.inboundRateLimit).toEqual(c.mesh.inboundRateLimit);
    expect(back.rateLimit).toBeUndefined();
    const bad = proxyConfigResources(config('3', '10.0.0.1'));
    bad[0] = { ...bad[0]!, body: pack(['proxy', { version: '3', warnings: [], virtualHosts: ['b', 'a'], clusters: ['c2', 'c1'], inboundRateLimit: { services: [] } }]) };
    expect(() => assembleProxyConfig(bad.map((r) => r.body))).toThrow(/inboundRateLimit lacks local or services lists/);
  });

  it('carries the L4 config in the header (tcp: and tls: routes, a gateway\'s TCP and passthrough ports), refusing one that is not a list', () => {
    const c = config('4', '10.0.0.1');
    c.mesh.tcpRoutes = [{ name: 'default/redis/tcp-0', hosts: ['*'], matches: [{ port: 6379, destinationSubnets: [], sniHosts: [] }], destinations: [{ cluster: 'c1', weight: 100 }] }];
    c.mesh.tlsRoutes = [{ name: 'default/tls/tls-0', hosts: ['*'], matches: [], destinations: [{ cluster: 'c2', weight: 100 }] }];
    c.mesh.gatewayTcpListeners = [{ port: 6379, protocol: 'REDIS', servers: ['default/gw/1'] }];
    c.mesh.gatewayPassthroughListeners = [{ port: 443, mode: 'PASSTHROUGH', servers: ['default/gw/2'], hosts: ['*'] }];
    expect(assembleProxyConfig(proxyConfigResources(c).map((r) => r.body))).toEqual(c);
    // Absent stays absent (a sidecar without TCP routes gets no empty lists).
    const none = assembleProxyConfig(proxyConfigResources(config('4', '10.0.0.1')).map((r) => r.body)).mesh;
    for (const key of ['tcpRoutes', 'tlsRoutes', 'gatewayTcpListeners', 'gatewayPassthroughListeners']) expect(key in none).toBe(false);
    for (const key of ['tcpRoutes', 'gatewayTcpListeners']) {
      const bad = pack(['proxy', { version: '1', warnings: [], virtualHosts: [], clusters: [], [key]: { port: 6379 } }]);
      expect(() => assembleProxyConfig([bad])).toThrow(new RegExp(`${key} is not a list \\(WASMESH_RESOURCE_INVALID\\)`));
    }
  });
});
