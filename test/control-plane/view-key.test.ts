// Which proxies share a computed view: sidecars whose labels differ only where nothing selects
// share one; a label a VirtualService match's sourceLabels (or a selector) names sets them apart;
// gateways keep all their labels; kind, type, namespace, Gateway and WASMESH_FILTERS count. And the
// view a shared key stands for is the one each proxy would have computed.
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { resolutionKey, selectorLabelKeys, viewKey } from '../../host/control-plane/view-key.js';
import type { XdsNode } from '../../host/xds/xds-node.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const SERVICES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec: {hosts: [api], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.2, labels: {version: v1}}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
`;
const CANARY = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: [api]
  http:
  - match: [{sourceLabels: {track: canary}}]
    timeout: 1s
    route: [{destination: {host: api}}]
  - route: [{destination: {host: api}}]
`;

function node(labels: Record<string, string>, over: Partial<XdsNode> = {}): XdsNode {
  return { id: `sidecar~127.0.0.1~p.default~default.svc.cluster.local`, type: 'sidecar', ip: '127.0.0.1', pod: 'p', namespace: 'default', labels, clusterId: 'Kubernetes', serviceAccount: 'default', gateway: null, listen: null, appPorts: [], inbound: null, kind: 'envoy', metadata: {}, ...over };
}

describe('view keys', () => {
  it('collects the label keys selectors and sourceLabels name, not an endpoint\'s own labels', () => {
    const read = readConfig([tempYaml({ 'a.yaml': SERVICES + CANARY }).dir]);
    expect([...selectorLabelKeys(read)].sort()).toEqual(['istio', 'track']);
  });

  it('sidecars differing only in labels nothing selects on share a key; a selected label sets them apart', () => {
    const plain = new Set(selectorLabelKeys(readConfig([tempYaml({ 'a.yaml': SERVICES }).dir])));
    expect(viewKey(node({ app: 'a', track: 'canary' }), plain)).toBe(viewKey(node({ app: 'b' }), plain));
    const canary = readConfig([tempYaml({ 'a.yaml': SERVICES + CANARY }).dir]);
    const keys = selectorLabelKeys(canary);
    expect(viewKey(node({ app: 'a', track: 'canary' }), keys)).not.toBe(viewKey(node({ app: 'b' }), keys));
    expect(viewKey(node({ app: 'a', track: 'canary' }), keys)).toBe(viewKey(node({ track: 'canary', app: 'b' }), keys));
    // And the views really differ where the keys do: the canary route has its timeout.
    const ctx = { version: '1', allowUnenforcedSecurity: false };
    const routes = (n: XdsNode): string => JSON.stringify([...proxyView({ ...n, kind: 'wasmesh' }, canary, ctx).snapshot.values()].map((t) => [...t.resources.values()].map((r) => r.version)));
    expect(routes(node({ app: 'a', track: 'canary' }))).not.toBe(routes(node({ app: 'b' })));
    expect(routes(node({ app: 'a' }))).toBe(routes(node({ app: 'b' })));
  });

  it('kind, type, namespace, Gateway, WASMESH_FILTERS and WASMESH_LISTEN count; gateways keep every label', () => {
    const keys = new Set<string>();
    const base = viewKey(node({}), keys);
    expect(viewKey(node({}, { kind: 'wasmesh' }), keys)).not.toBe(base);
    expect(viewKey(node({}, { namespace: 'other' }), keys)).not.toBe(base);
    expect(viewKey(node({}, { gateway: 'gw' }), keys)).not.toBe(base);
    expect(viewKey(node({}, { metadata: { WASMESH_FILTERS: '1' } }), keys)).not.toBe(base);
    expect(viewKey(node({}, { listen: { host: '127.0.0.1', port: 8080 } }), keys)).not.toBe(base);
    expect(viewKey(node({}, { appPorts: [5005] }), keys)).not.toBe(base);
    expect(viewKey(node({}, { appPorts: [5005] }), keys)).not.toBe(viewKey(node({}, { appPorts: [5006] }), keys));
    expect(viewKey(node({}, { appPorts: [5005], inbound: { host: '127.0.0.1', port: 16006 } }), keys)).not.toBe(viewKey(node({}, { appPorts: [5005] }), keys));
    expect(viewKey(node({ app: 'a' }, { type: 'router' }), keys)).not.toBe(viewKey(node({ app: 'b' }, { type: 'router' }), keys));
  });

  it('keys a mesh resolution by namespace, Gateway, security switch and the selected labels only', () => {
    const keys = new Set(['track']);
    const base = resolutionKey({ namespace: 'default', labels: { app: 'a', track: 'canary' } }, keys);
    expect(resolutionKey({ namespace: 'default', labels: { track: 'canary', app: 'b' } }, keys)).toBe(base);
    expect(resolutionKey({ namespace: 'default', labels: { app: 'a' } }, keys)).not.toBe(base);
    expect(resolutionKey({ namespace: 'other', labels: { track: 'canary' } }, keys)).not.toBe(base);
    expect(resolutionKey({ namespace: 'default', labels: { track: 'canary' }, gateway: 'gw' }, keys)).not.toBe(base);
    expect(resolutionKey({ namespace: 'default', labels: { track: 'canary' }, allowUnenforcedSecurity: true }, keys)).not.toBe(base);
  });
});
