import { describe, expect, test } from 'vitest';
import { readConfig } from '../../../host/config/load-config.js';
import { resolveMesh } from '../../../host/config/translate/resolve-mesh.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, catchAllVirtualHost, isCatchAllCluster } from '../../../host/config/translate/outbound-catch-all.js';
import { DEFAULT_MESH_SETTINGS, type OutboundTrafficMode } from '../../../host/model/mesh-settings.js';
import type { LoadOptions } from '../../../host/config/loaded-config.js';
import type { ConfigIssue } from '../../../host/config/config-error.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
`;

function resolve(mode: OutboundTrafficMode | null, options: LoadOptions = {}) {
  const t = tempYaml({ 'a.yaml': ENTRY });
  const read = readConfig([t.dir]);
  const issues: ConfigIssue[] = [];
  const settings = mode === null ? DEFAULT_MESH_SETTINGS : { ...DEFAULT_MESH_SETTINGS, outboundTrafficPolicy: mode };
  const mesh = resolveMesh({ resources: read.effective, options, issues, warnings: [], invalid: read.invalid, settings });
  expect(issues).toEqual([]);
  return mesh;
}

describe('the outbound catch-all of a sidecar (meshConfig outboundTrafficPolicy)', () => {
  test("Istio's default ALLOW_ANY: a last `*` virtual host allow_any forwards to PassthroughCluster, an original-destination cluster", () => {
    const mesh = resolve(null);
    const last = mesh.virtualHosts.at(-1)!;
    expect(last).toMatchObject({ name: 'allow_any', domains: ['*'] });
    expect(last.routes).toHaveLength(1);
    expect(last.routes[0]).toMatchObject({ name: 'allow_any', matches: [], timeoutMs: null, destinations: [{ cluster: PASSTHROUGH_CLUSTER, weight: 100 }] });
    // Istio's passthrough route has no retries.
    expect(last.routes[0]!.retry!.retries).toBe(0);
    expect(mesh.outboundTrafficPolicy).toBe('ALLOW_ANY');
    const pass = mesh.clusters.find((c) => c.name === PASSTHROUGH_CLUSTER)!;
    expect(pass).toMatchObject({ lb: 'PASSTHROUGH', endpoints: [] });
    expect(pass.policy!.connection.connectTimeoutMs).toBe(10_000);
    // The known host keeps its own virtual host, searched first by its exact domains.
    expect(mesh.virtualHosts[0]!.domains).toContain('api.example.com');
  });

  test('REGISTRY_ONLY: the catch-all is block_all, a direct 502 with no upstream; BlackHoleCluster has no endpoints', () => {
    const mesh = resolve('REGISTRY_ONLY');
    const last = mesh.virtualHosts.at(-1)!;
    expect(last).toMatchObject({ name: 'block_all', domains: ['*'] });
    expect(last.routes[0]).toMatchObject({ name: 'block_all', destinations: [], directResponse: { status: 502, body: null } });
    expect(mesh.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
    expect(mesh.clusters.find((c) => c.name === BLACKHOLE_CLUSTER)).toMatchObject({ endpoints: [] });
  });

  test('both catch-all clusters are defined whatever the mode (as Istio), once each', () => {
    for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
      const names = resolve(mode).clusters.map((c) => c.name).filter(isCatchAllCluster);
      expect(names).toEqual([BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER]);
    }
  });

  test('a gateway gets no catch-all: an unknown host there is 404 NR, as in Istio', () => {
    const mesh = resolve('ALLOW_ANY', { gateway: 'gw' });
    expect(mesh.virtualHosts.some((v) => v.domains.includes('*') && (v.name === 'allow_any' || v.name === 'block_all'))).toBe(false);
    expect(mesh.clusters.some((c) => isCatchAllCluster(c.name))).toBe(false);
    expect(mesh.outboundTrafficPolicy).toBeUndefined();
  });

  test('the two modes build different virtual hosts (no shared route objects)', () => {
    const a = catchAllVirtualHost('ALLOW_ANY');
    const b = catchAllVirtualHost('ALLOW_ANY');
    expect(a).toEqual(b);
    expect(a.routes[0]).not.toBe(b.routes[0]);
    expect(catchAllVirtualHost('REGISTRY_ONLY')).not.toEqual(a);
  });
});

describe('ServiceEntry location MESH_EXTERNAL', () => {
  const entry = (location: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  location: ${location}
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.9, labels: {security.istio.io/tlsMode: istio}}]
`;
  test('gets no auto mTLS even when its endpoints carry the istio tlsMode label (MESH_INTERNAL does)', () => {
    for (const [location, tls] of [['MESH_EXTERNAL', false], ['MESH_INTERNAL', true]] as const) {
      const t = tempYaml({ 'a.yaml': entry(location) });
      const read = readConfig([t.dir]);
      const issues: ConfigIssue[] = [];
      const mesh = resolveMesh({ resources: read.effective, options: { workloadIdentity: true }, issues, warnings: [], invalid: read.invalid, settings: DEFAULT_MESH_SETTINGS });
      expect(issues).toEqual([]);
      expect(mesh.clusters.find((c) => c.host === 'ext.example.com')!.tls !== undefined, location).toBe(tls);
    }
  });
});
