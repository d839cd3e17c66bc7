// Per-proxy views for the third client kind: a proxyless gRPC client gets a sidecar's view of the
// mesh (its namespace and labels pick the routes) as Envoy's four types, one listener per name it
// may dial; a gRPC node that calls itself a router still gets the mesh, with a warning. Stock
// Envoy's listener: on the Gateway's server ports or 15001, or where WASMESH_LISTEN says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig, type ReadConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { envoyProtos } from '../../host/xds/envoy-protos.js';
import { readNode, type XdsNode } from '../../host/xds/xds-node.js';

const YAML = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec: {hosts: [api], ports: [{number: 9000, name: grpc, protocol: GRPC}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api]
  http:
  - match: [{sourceLabels: {app: canary-client}}]
    timeout: 1s
    route: [{destination: {host: api}}]
  - route: [{destination: {host: api}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
`;

function node(type: 'sidecar' | 'router', labels: Record<string, string>): XdsNode {
  return { id: `${type}~127.0.0.1~c.default~default.svc.cluster.local`, type, ip: '127.0.0.1', pod: 'c', namespace: 'default', labels, clusterId: 'Kubernetes', serviceAccount: 'default', gateway: null, listen: null, appPorts: [], inbound: null, kind: 'grpc', metadata: {} };
}

describe('proxyView for a proxyless gRPC client', () => {
  let dir = '';
  let read: ReadConfig;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-view-'));
    writeFileSync(join(dir, 'mesh.yaml'), YAML);
    read = readConfig([dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = { version: '1', allowUnenforcedSecurity: false };
  const listeners = (v: ReturnType<typeof proxyView>) => [...v.snapshot.get(TYPE_URL.listener)!.resources.keys()];

  it('serves the mesh as listeners named host:port, no ports of its own', () => {
    const v = proxyView(node('sidecar', { app: 'client' }), read, ctx);
    expect(listeners(v)).toEqual(['api.default.svc.cluster.local:9000', 'api.default.svc:9000', 'api.default:9000', 'api:9000']);
    // The four xDS types; secrets go to Envoy sidecars over SDS, not to proxyless clients.
    expect([...v.snapshot.keys()].sort()).toEqual([TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint].sort());
    expect(v.ports).toEqual([]);
    expect(v.options.gateway).toBeUndefined();
  });

  it('its labels pick the routes (sourceLabels), as a sidecar\'s would', () => {
    const plain = proxyView(node('sidecar', { app: 'client' }), read, ctx);
    const canary = proxyView(node('sidecar', { app: 'canary-client' }), read, ctx);
    const rds = (v: ReturnType<typeof proxyView>) => v.snapshot.get(TYPE_URL.route)!.resources.get('api:9000')!.version;
    expect(rds(canary)).not.toBe(rds(plain));
  });

  it('a router type is given the mesh too, and told so; no Gateway is looked for', () => {
    const v = proxyView(node('router', { istio: 'ingressgateway' }), read, ctx);
    expect(v.options.gateway).toBeUndefined();
    expect(listeners(v)).toContain('api:9000');
    expect(v.warnings).toContain('proxy router~127.0.0.1~c.default~default.svc.cluster.local: a proxyless gRPC client is given the mesh\'s routes (a sidecar\'s view); its router type is ignored');
  });
});

describe('proxyView for stock Envoy: where its listener goes', () => {
  let dir = '';
  let read: ReadConfig;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-view-'));
    writeFileSync(join(dir, 'mesh.yaml'), YAML);
    read = readConfig([dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ctx = { version: '1', allowUnenforcedSecurity: false };
  const envoyNode = (type: 'sidecar' | 'router', metadata: Record<string, unknown>): XdsNode =>
    readNode({ id: `${type}~127.0.0.1~e.default~default.svc.cluster.local`, metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? { stringValue: v } : { structValue: { fields: Object.fromEntries(Object.entries(v as Record<string, string>).map(([a, b]) => [a, { stringValue: b }])) } }])) } });
  const addresses = (v: ReturnType<typeof proxyView>) =>
    [...v.snapshot.get(TYPE_URL.listener)!.resources.values()].map((r) => {
      const l = envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(r.body.value) as unknown as { address: { socket_address: { address: string; port_value: number } } };
      return `${l.address.socket_address.address}:${l.address.socket_address.port_value}`;
    });

  it('a gateway on its Gateway\'s server ports, a sidecar on 0.0.0.0:15001 (virtualOutbound) with a not-bound listener per HTTP port', () => {
    const gw = proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' } }), read, ctx);
    expect(addresses(gw)).toEqual(['0.0.0.0:80']);
    expect(gw.ports).toEqual([80]);
    const sidecar = proxyView(envoyNode('sidecar', {}), read, ctx);
    expect([...sidecar.snapshot.get(TYPE_URL.listener)!.resources.keys()].sort()).toEqual(['0.0.0.0_9000', 'virtualOutbound']);
    expect(addresses(sidecar).sort()).toEqual(['0.0.0.0:15001', '0.0.0.0:9000']);
    expect(sidecar.ports).toEqual([15001]);
  });

  it('WASMESH_LISTEN (envoy-bootstrap --listen) puts the one listener at that address instead', () => {
    const gw = proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' }, WASMESH_LISTEN: '127.0.0.1:18080' }), read, ctx);
    expect(addresses(gw)).toEqual(['127.0.0.1:18080']);
    expect(gw.ports).toEqual([18080]);
    expect(addresses(proxyView(envoyNode('sidecar', { WASMESH_LISTEN: '127.0.0.1:18081' }), read, ctx))).toEqual(['127.0.0.1:18081']);
  });

  it('a WASMESH_LISTEN that is not host:port refuses the node, naming the key', () => {
    expect(() => envoyNode('router', { WASMESH_LISTEN: '18080' })).toThrow(/metadata WASMESH_LISTEN: "18080" is not host:port.*XDS_NODE_INVALID/);
  });

  const inbound = (v: ReturnType<typeof proxyView>) => {
    const r = v.snapshot.get(TYPE_URL.listener)!.resources.get('virtualInbound');
    return r === undefined ? null : envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(r.body.value) as unknown as {
      address: { socket_address: { port_value: number } };
      filter_chains: Array<{ filter_chain_match?: { transport_protocol: string; destination_port?: { value: number } }; transport_socket?: { typed_config: { type_url: string } } }>;
    };
  };

  it('an Envoy sidecar with WASMESH_APP_PORTS gets Istio\'s virtualInbound (15006 or WASMESH_INBOUND) and its inbound|<port>|| cluster; none without', () => {
    expect(inbound(proxyView(envoyNode('sidecar', {}), read, ctx))).toBeNull();
    const v = proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), read, ctx);
    expect(inbound(v)!.address.socket_address.port_value).toBe(15006);
    expect(v.snapshot.get(TYPE_URL.cluster)!.resources.has('inbound|5005||')).toBe(true);
    expect(v.snapshot.get(TYPE_URL.endpoint)!.resources.has('inbound|5005||')).toBe(true);
    // No CA (no workload identity): plaintext, as a wasmesh sidecar's inbound without one. Behind
    // capture (no WASMESH_LISTEN): the app port and 15006 by destination port, any other port passed through.
    expect(inbound(v)!.filter_chains.map((c) => [c.filter_chain_match?.destination_port?.value ?? null, c.transport_socket ?? null])).toEqual([[5005, null], [15006, null], [null, null]]);
    expect(v.snapshot.get(TYPE_URL.cluster)!.resources.has('InboundPassthroughCluster')).toBe(true);
    const at = proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005', WASMESH_INBOUND: '127.0.0.1:16006' }), read, ctx);
    expect(inbound(at)!.address.socket_address.port_value).toBe(16006);
    // A router has no inbound listener.
    expect(inbound(proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' }, WASMESH_APP_PORTS: '5005' }), read, ctx))).toBeNull();
  });

  it('the pod\'s IP families (node id address, INSTANCE_IPS): an IPv6-only sidecar or gateway on `::` with its app at ::1; a dual-stack one on 0.0.0.0 with `[::]` as additional addresses', () => {
    type Addr = { socket_address: { address: string; port_value: number } };
    const decoded = (v: ReturnType<typeof proxyView>) => new Map([...v.snapshot.get(TYPE_URL.listener)!.resources].map(([name, r]) => {
      const l = envoyProtos().lookupType('envoy.config.listener.v3.Listener').toObject(envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(r.body.value), { longs: Number }) as { address: Addr; additional_addresses?: Array<{ address: Addr }> };
      const at = (a: Addr): string => a.socket_address.address;
      return [name, [at(l.address), ...(l.additional_addresses ?? []).map((x) => at(x.address))]] as const;
    }));
    const endpointOf = (v: ReturnType<typeof proxyView>, cluster: string): string => {
      const e = envoyProtos().lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment').toObject(envoyProtos().lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment').decode(v.snapshot.get(TYPE_URL.endpoint)!.resources.get(cluster)!.body.value)) as { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: Addr } }> }> };
      return e.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.address;
    };
    const v6 = proxyView(readNode({ id: 'sidecar~fd00:5ee::2~e.default~default.svc.cluster.local', metadata: { fields: { WASMESH_APP_PORTS: { stringValue: '5005' } } } }), read, ctx);
    expect(Object.fromEntries(decoded(v6))).toEqual({ virtualOutbound: ['::'], '::_9000': ['::'], virtualInbound: ['::'] });
    expect(endpointOf(v6, 'inbound|5005||')).toBe('::1');
    const dual = proxyView(readNode({ id: 'sidecar~10.0.0.2~e.default~default.svc.cluster.local', metadata: { fields: { WASMESH_APP_PORTS: { stringValue: '5005' }, INSTANCE_IPS: { stringValue: '10.0.0.2,fd00:5ee::2' } } } }), read, ctx);
    expect(Object.fromEntries(decoded(dual))).toEqual({ virtualOutbound: ['0.0.0.0', '::'], '0.0.0.0_9000': ['0.0.0.0', '::'], virtualInbound: ['0.0.0.0', '::'] });
    expect(endpointOf(dual, 'inbound|5005||')).toBe('127.0.0.1');
    // IPv4 (the default) as before: no additional address, the app on 127.0.0.1.
    const v4 = proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), read, ctx);
    expect(Object.fromEntries(decoded(v4))).toEqual({ virtualOutbound: ['0.0.0.0'], '0.0.0.0_9000': ['0.0.0.0'], virtualInbound: ['0.0.0.0'] });
    expect(endpointOf(v4, 'inbound|5005||')).toBe('127.0.0.1');
    // A gateway the same way: its Gateway's server ports on `::` (IPv6-only), on 0.0.0.0 with `::` too
    // (dual-stack), on 0.0.0.0 alone (IPv4); a WASMESH_LISTEN address is taken as given.
    const gwNode = (ip: string, ips?: string, listen?: string) => readNode({ id: `router~${ip}~gw.default~default.svc.cluster.local`, metadata: { fields: {
      LABELS: { structValue: { fields: { istio: { stringValue: 'ingressgateway' } } } },
      ...(ips !== undefined ? { INSTANCE_IPS: { stringValue: ips } } : {}),
      ...(listen !== undefined ? { WASMESH_LISTEN: { stringValue: listen } } : {}),
    } } });
    const gwAt = (v: ReturnType<typeof proxyView>) => [...decoded(v).values()];
    expect(gwAt(proxyView(gwNode('fd00:5ee::3'), read, ctx))).toEqual([['::']]);
    expect(gwAt(proxyView(gwNode('10.0.0.3', '10.0.0.3,fd00:5ee::3'), read, ctx))).toEqual([['0.0.0.0', '::']]);
    expect(gwAt(proxyView(gwNode('10.0.0.3'), read, ctx))).toEqual([['0.0.0.0']]);
    expect(gwAt(proxyView(gwNode('10.0.0.3', '10.0.0.3,fd00:5ee::3', '127.0.0.1:18080'), read, ctx))).toEqual([['127.0.0.1']]);
  });

  it('with the CA (workloadIdentity) the PeerAuthentication mode decides: STRICT mTLS only, PERMISSIVE tls and raw_buffer chains', () => {
    const strictDir = mkdtempSync(join(tmpdir(), 'wasmesh-view-strict-'));
    try {
      writeFileSync(join(strictDir, 'mesh.yaml'), YAML);
      const pa = (mode: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: ${mode}}}\n`;
      const idCtx = { ...ctx, workloadIdentity: true };
      writeFileSync(join(strictDir, 'pa.yaml'), pa('STRICT'));
      const strict = inbound(proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), readConfig([strictDir]), idCtx))!;
      // Every chain (5005 and 15006 each HTTP and TCP by ALPN, the passthrough) mTLS only.
      expect(strict.filter_chains.map((c) => c.transport_socket!.typed_config.type_url)).toEqual(Array(5).fill('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'));
      writeFileSync(join(strictDir, 'pa.yaml'), pa('PERMISSIVE'));
      const permissive = inbound(proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), readConfig([strictDir]), idCtx))!;
      expect(permissive.filter_chains.map((c) => c.filter_chain_match!.transport_protocol)).toEqual(['tls', 'tls', 'raw_buffer', 'tls', 'tls', 'raw_buffer', 'tls', 'raw_buffer']);
      // The CA's trust domain reaches the load (endpoint SPIFFE IDs); without one, the load's default.
      expect(proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), readConfig([strictDir]), { ...idCtx, trustDomain: 'corp.example' }).options.trustDomain).toBe('corp.example');
      expect(proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), readConfig([strictDir]), idCtx).options.trustDomain).toBeUndefined();
    } finally {
      rmSync(strictDir, { recursive: true, force: true });
    }
  });

  it('a RequestAuthentication reaches an Envoy sidecar as jwt_authn on virtualInbound (encoded over xDS), with the JWKS cluster; the gateway gets it on its listener', () => {
    const jwtDir = mkdtempSync(join(tmpdir(), 'wasmesh-view-jwt-'));
    try {
      writeFileSync(join(jwtDir, 'mesh.yaml'), YAML);
      writeFileSync(join(jwtDir, 'ra.yaml'), 'apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt, namespace: istio-system}\nspec:\n  jwtRules:\n  - issuer: https://issuer.test\n    jwksUri: http://127.0.0.1:15999/jwks\n');
      const filtersOf = (body: Uint8Array) => {
        const l = envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(body) as unknown as { filter_chains: Array<{ filters: Array<{ typed_config: { value: Uint8Array } }> }> };
        const hcm = envoyProtos().lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager').decode(l.filter_chains[0]!.filters[0]!.typed_config.value) as unknown as { http_filters: Array<{ name: string; typed_config: { value: Uint8Array } }> };
        return hcm.http_filters;
      };
      const v = proxyView(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005' }), readConfig([jwtDir]), ctx);
      const filters = filtersOf(v.snapshot.get(TYPE_URL.listener)!.resources.get('virtualInbound')!.body.value);
      expect(filters.map((f) => f.name)).toEqual(['envoy.filters.http.jwt_authn', 'envoy.filters.http.router']);
      const cfg = envoyProtos().lookupType('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication').decode(filters[0]!.typed_config.value) as unknown as { providers: Record<string, { issuer: string; payload_in_metadata: string }> };
      expect(cfg.providers['origins-0']).toMatchObject({ issuer: 'https://issuer.test', payload_in_metadata: 'payload' });
      expect(v.snapshot.get(TYPE_URL.cluster)!.resources.has('jwks|127.0.0.1|15999')).toBe(true);
      // The outbound listener checks no token (Istio's outbound has no jwt_authn).
      const outbound = [...v.snapshot.get(TYPE_URL.listener)!.resources.entries()].find(([n]) => n !== 'virtualInbound')![1];
      expect(filtersOf(outbound.body.value).map((f) => f.name)).not.toContain('envoy.filters.http.jwt_authn');
      const gw = proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' } }), readConfig([jwtDir]), ctx);
      const gwListener = [...gw.snapshot.get(TYPE_URL.listener)!.resources.values()][0]!;
      expect(filtersOf(gwListener.body.value)[0]!.name).toBe('envoy.filters.http.jwt_authn');
    } finally {
      rmSync(jwtDir, { recursive: true, force: true });
    }
  });

  it('Gateway TLS passthrough ports over xDS: tls_inspector + tcp_proxy listeners (encoded), never an HTTP listener; a passthrough-only gateway has no HTTP listener', () => {
    const pDir = mkdtempSync(join(tmpdir(), 'wasmesh-view-pass-'));
    try {
      writeFileSync(join(pDir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a}
spec: {hosts: [a.example.com], ports: [{number: 443, name: tls, protocol: TLS}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}
  - {port: {number: 8443, name: tls, protocol: TLS}, hosts: [a.example.com], tls: {mode: PASSTHROUGH}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: eastwest}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - {port: {number: 15443, name: tls, protocol: TLS}, hosts: ['*.local'], tls: {mode: AUTO_PASSTHROUGH}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  tls: [{match: [{sniHosts: [a.example.com]}], route: [{destination: {host: a.example.com}}]}]
`);
      const Listener = envoyProtos().lookupType('envoy.config.listener.v3.Listener');
      const TcpProxy = envoyProtos().lookupType('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy');
      type Decoded = { address: { socket_address: { port_value: number } }; listener_filters: Array<{ name: string }>; filter_chains: Array<{ filter_chain_match?: { server_names: string[] }; filters: Array<{ name: string; typed_config: { type_url: string; value: Uint8Array } }> }> };
      const decoded = (v: ReturnType<typeof proxyView>): Decoded[] => [...v.snapshot.get(TYPE_URL.listener)!.resources.values()].map((r) => Listener.decode(r.body.value) as unknown as Decoded);
      const gw = decoded(proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' } }), readConfig([pDir]), ctx));
      expect(gw.map((l) => l.address.socket_address.port_value)).toEqual([80, 8443]);
      const pass = gw[1]!;
      expect(pass.listener_filters.map((f) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
      expect(pass.filter_chains[0]!.filter_chain_match!.server_names).toEqual(['a.example.com']);
      expect(pass.filter_chains[0]!.filters[0]!.name).toBe('envoy.filters.network.tcp_proxy');
      expect(TcpProxy.decode(pass.filter_chains[0]!.filters[0]!.typed_config.value)).toMatchObject({ cluster: 'outbound|443||a.example.com' });
      const ew = decoded(proxyView(envoyNode('router', { LABELS: { istio: 'eastwestgateway' } }), readConfig([pDir]), ctx));
      expect(ew.map((l) => l.address.socket_address.port_value)).toEqual([15443]);
      expect(ew[0]!.filter_chains.map((c) => c.filter_chain_match!.server_names)).toEqual([['outbound_.443_._.a.example.com']]);
    } finally {
      rmSync(pDir, { recursive: true, force: true });
    }
  });

  it('Gateway TCP servers over xDS: a tcp_proxy listener on each TCP port (encoded), never an HTTP one, bound once with two HTTP ports', () => {
    const tDir = mkdtempSync(join(tmpdir(), 'wasmesh-view-tcp-'));
    try {
      writeFileSync(join(tDir, 'mesh.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: redis}
spec: {hosts: [redis.example.internal], ports: [{number: 6379, name: redis, protocol: REDIS}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}
  - {port: {number: 8080, name: http2, protocol: HTTP}, hosts: ['*']}
  - {port: {number: 6379, name: redis, protocol: REDIS}, hosts: ['*']}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tcponly}
spec:
  selector: {istio: tcpgateway}
  servers:
  - {port: {number: 6379, name: redis, protocol: REDIS}, hosts: ['*']}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*']
  gateways: [gw, tcponly]
  tcp: [{match: [{port: 6379}], route: [{destination: {host: redis.example.internal}}]}]
`);
      const Listener = envoyProtos().lookupType('envoy.config.listener.v3.Listener');
      const TcpProxy = envoyProtos().lookupType('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy');
      type Decoded = { name: string; address: { socket_address: { port_value: number } }; filter_chains: Array<{ filters: Array<{ name: string; typed_config: { type_url: string; value: Uint8Array } }> }> };
      const decoded = (v: ReturnType<typeof proxyView>): Decoded[] => [...v.snapshot.get(TYPE_URL.listener)!.resources.values()].map((r) => Listener.decode(r.body.value) as unknown as Decoded);
      const view = proxyView(envoyNode('router', { LABELS: { istio: 'ingressgateway' } }), readConfig([tDir]), ctx);
      const gw = decoded(view);
      // Every address once (Envoy refuses two listeners on one), and no warning about a port map.
      expect(gw.map((l) => l.address.socket_address.port_value).sort((a, b) => a - b)).toEqual([80, 6379, 8080]);
      expect(view.warnings.filter((w) => /port map/.test(w))).toEqual([]);
      const tcp = gw.find((l) => l.address.socket_address.port_value === 6379)!;
      expect(tcp.filter_chains.map((c) => c.filters.map((f) => f.name))).toEqual([['envoy.filters.network.tcp_proxy']]);
      expect(TcpProxy.decode(tcp.filter_chains[0]!.filters[0]!.typed_config.value)).toMatchObject({ cluster: 'outbound|6379||redis.example.internal', stat_prefix: 'outbound|6379||redis.example.internal' });
      for (const l of gw.filter((x) => x !== tcp)) expect(l.filter_chains[0]!.filters[0]!.name).toBe('envoy.filters.network.http_connection_manager');
      const only = decoded(proxyView(envoyNode('router', { LABELS: { istio: 'tcpgateway' } }), readConfig([tDir]), ctx));
      expect(only.map((l) => [l.address.socket_address.port_value, l.filter_chains[0]!.filters[0]!.name])).toEqual([[6379, 'envoy.filters.network.tcp_proxy']]);
    } finally {
      rmSync(tDir, { recursive: true, force: true });
    }
  });

  it('a bad WASMESH_APP_PORTS or WASMESH_INBOUND refuses the node, naming the key', () => {
    expect(() => envoyNode('sidecar', { WASMESH_APP_PORTS: '5005,x' })).toThrow(/metadata WASMESH_APP_PORTS: "x" is not a port 1-65535.*XDS_NODE_INVALID/);
    expect(() => envoyNode('sidecar', { WASMESH_APP_PORTS: '5005,5005' })).toThrow(/WASMESH_APP_PORTS: 5005 is given twice/);
    expect(() => envoyNode('sidecar', { WASMESH_APP_PORTS: '0' })).toThrow(/"0" is not a port/);
    expect(() => envoyNode('sidecar', { WASMESH_INBOUND: '15006' })).toThrow(/metadata WASMESH_INBOUND: "15006" is not host:port/);
    expect(envoyNode('sidecar', { WASMESH_APP_PORTS: '5005, 8080', WASMESH_INBOUND: '127.0.0.1:16006' })).toMatchObject({ appPorts: [5005, 8080], inbound: { host: '127.0.0.1', port: 16006 } });
  });
});
