// The control plane's per-proxy views follow the Sidecar in effect: an Envoy sidecar under a
// `./*` Sidecar is pushed only its namespace's clusters (plus the catch-all ones), and one in
// another namespace, not under it, everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig, type ReadConfig } from '../../host/config/index.js';
import { proxyView } from '../../host/control-plane/proxy-view.js';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { readNode, type XdsNode } from '../../host/xds/xds-node.js';

const se = (name: string, ns: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec: {hosts: [${name}.${ns}.svc.cluster.local], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 10.0.0.1}]}
`;
const YAML = [
  se('a', 'default'),
  se('b', 'other'),
  `apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: default}
spec: {egress: [{hosts: ["./*"]}], outboundTrafficPolicy: {mode: REGISTRY_ONLY}}
`,
].join('---\n');

function envoySidecar(namespace: string): XdsNode {
  return readNode({ id: `sidecar~127.0.0.1~e.${namespace}~${namespace}.svc.cluster.local`, metadata: { fields: {} } });
}

describe('Sidecar-scoped control-plane views', () => {
  let dir: string;
  let read: ReadConfig;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-view-'));
    writeFileSync(join(dir, 'mesh.yaml'), YAML);
    read = readConfig([dir]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ctx = { version: '1', allowUnenforcedSecurity: false };
  const clusters = (node: XdsNode) => [...proxyView(node, read, ctx).snapshot.get(TYPE_URL.cluster)!.resources.keys()].sort();

  it("an Envoy sidecar in the Sidecar's namespace gets its namespace's clusters and the catch-all ones", () => {
    expect(clusters(envoySidecar('default'))).toEqual(['BlackHoleCluster', 'PassthroughCluster', 'outbound|80||a.default.svc.cluster.local']);
  });

  it('one in another namespace is not scoped by it', () => {
    expect(clusters(envoySidecar('other'))).toEqual(['BlackHoleCluster', 'PassthroughCluster', 'outbound|80||a.default.svc.cluster.local', 'outbound|80||b.other.svc.cluster.local']);
  });
});
