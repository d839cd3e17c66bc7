// Per-proxy views for the third client kind: a proxyless gRPC client gets a sidecar's view of the
// mesh (its namespace and labels pick the routes) as Envoy's four types, one listener per name it
// may dial; a gRPC node that calls itself a router still gets the mesh, with a warning.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig, type ReadConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import type { XdsNode } from '../../host/xds/xds-node.js';

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
  return { id: `${type}~127.0.0.1~c.default~default.svc.cluster.local`, type, ip: '127.0.0.1', pod: 'c', namespace: 'default', labels, clusterId: 'Kubernetes', serviceAccount: 'default', gateway: null, kind: 'grpc', metadata: {} };
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
    expect([...v.snapshot.keys()].sort()).toEqual(Object.values(TYPE_URL).sort());
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
