// The control plane delivers the wasmesh_stats filter to an Envoy routing by wasmesh's filters:
// its own workload from its xDS node (as a wasmesh proxy takes it), the connected proxies'
// metadata to recognise, off with WASMESH_ISTIO_METRICS=off, and a view key of its own.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { viewKey } from '../../host/control-plane/view-key.js';
import { envoyIstioStats, wantsIstioStats, withInboundIstioStats, workloadOfNode } from '../../host/control-plane/envoy-istio-stats.js';
import { workloadOfIdentity } from '../../host/control/xds-config-source.js';
import { encodePeerMetadata } from '../../host/telemetry/peer-metadata.js';
import type { XdsNode } from '../../host/xds/xds-node.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec: {hosts: [api.example], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: api.example}}]}]}
`;

/** A gateway with TCP servers only: Envoy gets tcp_proxy listeners from the native translation. */
const TCP_ONLY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 31400, name: tcp, protocol: TCP}, hosts: ["*"], bind: 127.0.0.1}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo}
spec: {hosts: [echo.example], ports: [{number: 7000, name: tcp, protocol: TCP}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo}
spec: {hosts: ["*"], gateways: [gw], tcp: [{match: [{port: 31400}], route: [{destination: {host: echo.example, port: {number: 7000}}}]}]}
`;

function node(pod: string, over: Partial<XdsNode> = {}): XdsNode {
  return { id: `router~127.0.0.1~${pod}.default~default.svc.cluster.local`, type: 'router', ip: '127.0.0.1', pod, namespace: 'default', labels: { istio: 'ingressgateway', app: 'gw' }, clusterId: 'Kubernetes', serviceAccount: 'gw-sa', gateway: null, listen: null, appPorts: [], inbound: null, kind: 'envoy', metadata: { WASMESH_FILTERS: '1' }, ...over };
}
const SIDECAR: XdsNode = { ...node('reviews-v1-abc'), id: 'sidecar~10.0.0.7~reviews-v1-abc.default~default.svc.cluster.local', type: 'sidecar', ip: '10.0.0.7', labels: { app: 'reviews', version: 'v1' }, kind: 'wasmesh', metadata: {}, workloadName: 'reviews-v1' };

describe('envoyIstioStats', () => {
  it('is on for Envoys with WASMESH_FILTERS unless WASMESH_ISTIO_METRICS=off', () => {
    expect(wantsIstioStats(node('a'))).toBe(true);
    expect(wantsIstioStats(node('a', { metadata: {} }))).toBe(false);
    expect(wantsIstioStats(node('a', { metadata: { WASMESH_FILTERS: '1', WASMESH_ISTIO_METRICS: 'off' } }))).toBe(false);
    expect(wantsIstioStats(node('a', { kind: 'wasmesh' }))).toBe(false);
    expect(envoyIstioStats(node('a', { metadata: {} }), [SIDECAR])).toBeUndefined();
  });

  it('takes the node\'s workload as a wasmesh proxy does, and the other connected proxies as peers', () => {
    const gw = node('gw-1');
    const o = envoyIstioStats(gw, [gw, SIDECAR, { ...SIDECAR, id: 'grpc', kind: 'grpc' }], 'cluster.local')!;
    expect(o.reporter).toBe('source');
    expect(o.self).toEqual(workloadOfIdentity({ type: 'router', pod: 'gw-1', ip: '127.0.0.1', namespace: 'default', labels: gw.labels, serviceAccount: 'gw-sa', clusterId: 'Kubernetes' }, 'cluster.local'));
    expect(o.self.principal).toBe('spiffe://cluster.local/ns/default/sa/gw-sa');
    expect(o.peers.map((p) => p.name)).toEqual(['reviews-v1']);
  });

  it('proxyView puts the filter, with the peers\' metadata, in the Envoy\'s listener', () => {
    const read = readConfig([tempYaml({ 'a.yaml': GATEWAY }).dir]);
    const gw = node('gw-1');
    const view = proxyView(gw, read, { version: '1', allowUnenforcedSecurity: false, connectedNodes: () => [gw, SIDECAR] });
    const listeners = [...view.snapshot.values()].flatMap((t) => [...t.resources.values()]).map((r) => Buffer.from((r as { body: { value: Uint8Array } }).body.value));
    const withStats = listeners.filter((b) => b.includes('wasmesh_stats'));
    expect(withStats.length).toBe(1);
    // The filter's configuration: a BytesValue, carried base64 inside the listener's typed_config Struct.
    const latin = withStats[0]!.toString('latin1');
    const config = Buffer.from(latin.slice(latin.indexOf('wasmesh_stats\n')).match(/[A-Za-z0-9+/]{100,}={0,2}/)![0], 'base64').toString();
    expect(config).toContain(`\npeer\t${encodePeerMetadata(workloadOfNode(SIDECAR))}\t`);
    expect(config).toContain(`\nself\t${gw.id}\t${encodePeerMetadata(workloadOfNode(gw))}\n`);
    const off = proxyView(node('gw-1', { metadata: { WASMESH_FILTERS: '1', WASMESH_ISTIO_METRICS: 'off' } }), read, { version: '1', allowUnenforcedSecurity: false });
    expect([...off.snapshot.values()].flatMap((t) => [...t.resources.values()]).some((r) => Buffer.from((r as { body: { value: Uint8Array } }).body.value).includes('wasmesh_stats'))).toBe(false);
  });

  it('an Envoy sidecar with app ports reports as destination on its inbound listener, source on its outbound', () => {
    const read = readConfig([tempYaml({ 'a.yaml': GATEWAY }).dir]);
    const sidecar = node('ratings-1', { id: 'sidecar~127.0.0.1~ratings-1.default~default.svc.cluster.local', type: 'sidecar', labels: { app: 'ratings' }, appPorts: [9080] });
    const view = proxyView(sidecar, read, { version: '1', allowUnenforcedSecurity: false, connectedNodes: () => [sidecar, SIDECAR] });
    const configs = [...view.snapshot.values()].flatMap((t) => [...t.resources.values()]).map((r) => Buffer.from((r as { body: { value: Uint8Array } }).body.value).toString('latin1'))
      .filter((b) => b.includes('wasmesh_stats\n'))
      .map((b) => Buffer.from(b.slice(b.indexOf('wasmesh_stats\n')).match(/[A-Za-z0-9+/]{100,}={0,2}/)![0], 'base64').toString());
    // One inbound listener (destination); every HTTP listener of the outbound layout (source).
    const reporters = configs.map((c) => /\nreporter\t(\w+)\n/.exec(c)![1]);
    expect([...new Set(reporters)].sort()).toEqual(['destination', 'source']);
    expect(reporters.filter((r) => r === 'destination')).toHaveLength(1);
    for (const c of configs) expect(c).toContain(`\npeer\t${encodePeerMetadata(workloadOfNode(SIDECAR))}\t`);
    // Before the inbound router: the filter sees the stream before Envoy forwards it, after
    // grpc_stats (whose filter state gives it a gRPC request's message counts).
    const listener = withInboundIstioStats({ name: 'virtualInbound', filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { http_filters: [{ name: 'envoy.filters.http.rbac' }, { name: 'envoy.filters.http.router' }] } }] }] }, sidecar, []);
    const names = ((listener.filter_chains as any[])[0].filters[0].typed_config.http_filters as any[]).map((f) => f.typed_config?.config?.root_id ?? f.name);
    expect(names).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.grpc_stats', 'wasmesh_stats', 'envoy.filters.http.router']);
    const untouched = { name: 'l', filter_chains: [] };
    expect(withInboundIstioStats(untouched, { ...sidecar, metadata: {} }, [])).toBe(untouched);
  });

  it('gives each such Envoy a view of its own (its listener carries its own workload)', () => {
    const keys = new Set<string>();
    expect(viewKey(node('a'), keys)).not.toBe(viewKey(node('b'), keys));
    expect(viewKey(node('a', { metadata: {} }), keys)).toBe(viewKey(node('b', { metadata: {} }), keys));
  });

  it('a gateway with TCP ports only gets wasmesh_tcp_stats before its tcp_proxy, as a TypedStruct (FAIL_CLOSED), unless its metrics are off', () => {
    const read = readConfig([tempYaml({ 'a.yaml': TCP_ONLY }).dir]);
    const bodies = (n: XdsNode): string[] => [...proxyView(n, read, { version: '1', allowUnenforcedSecurity: false, connectedNodes: () => [n] }).snapshot.values()]
      .flatMap((t) => [...t.resources.values()]).map((r) => Buffer.from((r as { body: { value: Uint8Array } }).body.value).toString('latin1'));
    const withTcp = bodies(node('gw-1')).filter((b) => b.includes('wasmesh_tcp_stats'));
    expect(withTcp.length).toBe(1);
    expect(withTcp[0]).toContain('type.googleapis.com/xds.type.v3.TypedStruct');
    expect(withTcp[0]).toContain('envoy.extensions.filters.network.wasm.v3.Wasm');
    expect(withTcp[0]).toContain('FAIL_CLOSED');
    // Before the tcp_proxy in the chain.
    expect(withTcp[0]!.indexOf('wasmesh_tcp_stats')).toBeLessThan(withTcp[0]!.indexOf('envoy.filters.network.tcp_proxy'));
    expect(bodies(node('gw-1', { metadata: { WASMESH_FILTERS: '1', WASMESH_ISTIO_METRICS: 'off' } })).some((b) => b.includes('wasmesh_tcp_stats'))).toBe(false);
    expect(bodies(node('gw-1', { metadata: {} })).some((b) => b.includes('wasmesh_tcp_stats'))).toBe(false);
  });
});
