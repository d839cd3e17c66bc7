import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../../host/config/index.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { block } from './model-builders.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { WEB_SERVICE } from '../helpers/seed-000-yaml.js';

const DEMO = 'examples/000-web-demo';
const f = (name: string): string => join(DEMO, name);
const SERVICES = f('00-web-services.yaml');
const VERSIONS = f('01-web-demo-versions.yaml');
const GATEWAY = f('02-web-demo-service-gateway.yaml');
const SPLIT_80_20 = f('03-web-demo-80-20.yaml');
const SPLIT_5_95 = f('04-web-demo-5-95.yaml');
const WEB = 'web.default.svc.cluster.local';

function split(mesh: MeshConfig): Array<[string, number]> {
  return mesh.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => r.destinations.map((d) => [d.cluster, d.weight] as [string, number])));
}

describe('seed 000 files', () => {
  test.each([SERVICES, VERSIONS, GATEWAY, SPLIT_80_20, SPLIT_5_95])('%s loads on its own', (file) => {
    const config = loadConfig([file]);
    expect(config.files).toEqual([file]);
  });

  test('the Kubernetes Service and Deployments are skipped, each with a warning', () => {
    const config = loadConfig([VERSIONS]);
    expect(config.resources).toEqual([]);
    expect(config.warnings).toHaveLength(3);
    // The Deployments when read; the Service when the registry finds nothing that gives it endpoints.
    expect(config.warnings[1]).toMatch(/:33 \(document 3\) Deployment web-v2: extensions\/v1beta1 Deployment skipped: .*so the pods it would make have no addresses/);
    expect(config.warnings[2]).toMatch(/01-web-demo-versions\.yaml:1 \(document 1\) Service default\/web: v1 Service skipped: wasmesh runs without Kubernetes and nothing gives this Service endpoints: add an EndpointSlice/);
  });

  test('02 alone in gateway mode: one route on "*" to the default cluster with both versions', () => {
    const { mesh } = loadConfig([SERVICES, GATEWAY], { gateway: 'web-gateway' });
    expect(mesh.virtualHosts).toHaveLength(1);
    expect(mesh.virtualHosts[0]!.domains).toEqual(['*']);
    const route = mesh.virtualHosts[0]!.routes[0]!;
    expect(route.name).toBe('default/web/0');
    expect(route.matches).toEqual([block({ uri: { kind: 'exact', value: '/' } })]);
    expect(split(mesh)).toEqual([[`outbound|5005||${WEB}`, 100]]);
    const cluster = mesh.clusters.find((c) => c.name === `outbound|5005||${WEB}`)!;
    expect(cluster.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['127.0.0.1:15101', '127.0.0.1:15102']);
  });

  test('02+03 in gateway mode: 80/20 over the v1 and v2 subsets; 03 replaces 02’s VirtualService with a warning', () => {
    const config = loadConfig([SERVICES, VERSIONS, GATEWAY, SPLIT_80_20], { gateway: 'web-gateway' });
    expect(split(config.mesh)).toEqual([
      [`outbound|5005|v1|${WEB}`, 80],
      [`outbound|5005|v2|${WEB}`, 20],
    ]);
    expect(config.mesh.virtualHosts[0]!.routes[0]!.matches).toEqual([]); // 03's rule has no match
    expect(config.mesh.clusters.map((c) => c.name)).toEqual([`outbound|5005||${WEB}`, `outbound|5005|v1|${WEB}`, `outbound|5005|v2|${WEB}`]);
    const v1 = config.mesh.clusters[1]!;
    const v2 = config.mesh.clusters[2]!;
    expect(v1.endpoints).toEqual([{ address: '127.0.0.1', port: 15101, labels: { app: 'web', version: 'v1' }, weight: 1 }]);
    expect(v2.endpoints).toEqual([{ address: '127.0.0.1', port: 15102, labels: { app: 'web', version: 'v2' }, weight: 1 }]);
    const dup = config.warnings.filter((w) => w.includes('replaces'));
    expect(dup).toHaveLength(1);
    expect(dup[0]).toContain('03-web-demo-80-20.yaml:15 (document 2) VirtualService default/web');
    expect(dup[0]).toContain('02-web-demo-service-gateway.yaml:16 (document 2)');
    expect(config.resources.map((r) => `${r.kind} ${r.name} ${r.file}`)).toEqual([
      `ServiceEntry web ${SERVICES}`,
      `WorkloadEntry web-v1 ${SERVICES}`,
      `WorkloadEntry web-v2 ${SERVICES}`,
      `Gateway web-gateway ${GATEWAY}`,
      `DestinationRule web ${SPLIT_80_20}`,
      `VirtualService web ${SPLIT_80_20}`,
    ]);
  });

  test('02+04 in gateway mode: 5/95; namespace/name form of --gateway works too', () => {
    const { mesh } = loadConfig([SERVICES, GATEWAY, SPLIT_5_95], { gateway: 'default/web-gateway' });
    expect(split(mesh)).toEqual([
      [`outbound|5005|v1|${WEB}`, 5],
      [`outbound|5005|v2|${WEB}`, 95],
    ]);
  });

  test('02+03 in mesh mode: the VirtualService is bound to web-gateway only, so web is plain forwarding', () => {
    const { mesh } = loadConfig([SERVICES, GATEWAY, SPLIT_80_20]);
    // web, then the sidecar's catch-all for unknown hosts (ALLOW_ANY by default).
    expect(mesh.virtualHosts.map((v) => v.name)).toEqual([WEB, 'allow_any']);
    const vh = mesh.virtualHosts[0]!;
    expect(vh.domains).toContain('web');
    expect(vh.domains).toContain('web:5005');
    expect(vh.domains).toContain(`${WEB}:5005`);
    expect(vh.routes).toHaveLength(1);
    expect(vh.routes[0]!.matches).toEqual([]);
    expect(split(mesh)).toEqual([[`outbound|5005||${WEB}`, 100], ['PassthroughCluster', 100]]);
    // Subset clusters are defined by the DestinationRule even when no route uses them; the
    // catch-all clusters follow.
    expect(mesh.clusters.map((c) => c.subset)).toEqual([null, 'v1', 'v2', null, null]);
    expect(mesh.clusters.slice(3).map((c) => c.name)).toEqual(['BlackHoleCluster', 'PassthroughCluster']);
  });

  test('the whole example folder loads in lexical order, so 04 (5/95) is the split in effect', () => {
    const config = loadConfig([DEMO], { gateway: 'web-gateway' });
    expect(config.files).toEqual([SERVICES, VERSIONS, GATEWAY, SPLIT_80_20, SPLIT_5_95]);
    expect(split(config.mesh).map(([, w]) => w)).toEqual([5, 95]);
  });
});

describe('mesh mode', () => {
  const meshVs = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: split
    route:
    - destination: {host: web, subset: v1}
      weight: 80
      headers:
        request:
          set: {X-Version: v1}
    - destination: {host: web.default, subset: v2}
      weight: 20
    timeout: 1.5s
    headers:
      response:
        add: {x-mesh: wasmesh}
        remove: [Server]
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: web}
spec:
  host: web.default.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

  test('a mesh-bound VirtualService routes every Kubernetes form of the host, with its split, headers and timeout', () => {
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': meshVs });
    const { mesh } = loadConfig([t.dir]);
    expect(mesh.virtualHosts.map((v) => v.name)).toEqual([WEB, 'allow_any']);
    const vh = mesh.virtualHosts[0]!;
    expect(vh.name).toBe(WEB);
    expect(vh.domains).toEqual(['web', 'web:5005', 'web.default', 'web.default:5005', 'web.default.svc', 'web.default.svc:5005', WEB, `${WEB}:5005`]);
    const route = vh.routes[0]!;
    expect(route.name).toBe('default/web/split');
    expect(route.timeoutMs).toBe(1500);
    expect(route.responseHeaders).toEqual({ set: [], add: [['x-mesh', 'wasmesh']], remove: ['server'] });
    // Port omitted: the service has exactly one port, 5005.
    expect(route.destinations.map((d) => [d.cluster, d.weight])).toEqual([
      [`outbound|5005|v1|${WEB}`, 80],
      [`outbound|5005|v2|${WEB}`, 20],
    ]);
    expect(route.destinations[0]!.requestHeaders.set).toEqual([['x-version', 'v1']]);
  });

  test('short forms are only offered for hosts of the proxy namespace', () => {
    const t = tempYaml({ 'a.yaml': WEB_SERVICE, 'b.yaml': meshVs });
    const { mesh } = loadConfig([t.dir], { namespace: 'other' });
    // The files have no metadata.namespace, so they are in "other" too.
    expect(mesh.virtualHosts[0]!.name).toBe('web.other.svc.cluster.local');
    expect(mesh.virtualHosts[0]!.domains[0]).toBe('web');
    const t2 = tempYaml({ 'a.yaml': WEB_SERVICE.replaceAll('metadata:\n  name: web', 'metadata:\n  name: web\n  namespace: shop').replaceAll('metadata: {name: web-v', 'metadata: {namespace: shop, name: web-v') });
    const m2 = loadConfig([t2.dir]).mesh;
    expect(m2.virtualHosts[0]!.domains).toEqual([
      'web.shop',
      'web.shop:5005',
      'web.shop.svc',
      'web.shop.svc:5005',
      'web.shop.svc.cluster.local',
      'web.shop.svc.cluster.local:5005',
    ]);
    expect(m2.clusters[0]!.endpoints).toHaveLength(2); // WorkloadEntries of the same namespace
  });
});

describe('WorkloadEntry port mapping', () => {
  const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.internal.example]
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  - {number: 9090, name: admin, protocol: HTTP}
  resolution: STATIC
  workloadSelector: {labels: {app: api}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: api-b}
spec: {address: 10.0.0.2, labels: {app: api}, weight: 3}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: api-a}
spec: {address: 10.0.0.1, labels: {app: api}, ports: {http: 18080, admin: 19090}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: other, namespace: elsewhere}
spec: {address: 10.0.0.9, labels: {app: api}}
`;
  test('ports map by name; absent → targetPort, else the service port; other namespaces are not selected', () => {
    const t = tempYaml({ 'se.yaml': entry });
    const { mesh } = loadConfig([t.dir]);
    const http = mesh.clusters.find((c) => c.name === 'outbound|80||api.internal.example')!;
    const admin = mesh.clusters.find((c) => c.name === 'outbound|9090||api.internal.example')!;
    // WorkloadEntries in name order: api-a, api-b.
    expect(http.endpoints.map((e) => [e.address, e.port, e.weight])).toEqual([
      ['10.0.0.1', 18080, 1],
      ['10.0.0.2', 8080, 3],
    ]);
    expect(admin.endpoints.map((e) => [e.address, e.port])).toEqual([
      ['10.0.0.1', 19090],
      ['10.0.0.2', 9090],
    ]);
  });

  test('a service with several ports gets one forwarding virtual host per port', () => {
    const t = tempYaml({ 'se.yaml': entry });
    const { mesh } = loadConfig([t.dir]);
    expect(mesh.virtualHosts.map((v) => [v.name, v.domains])).toEqual([
      ['api.internal.example:80', ['api.internal.example', 'api.internal.example:80']],
      ['api.internal.example:9090', ['api.internal.example:9090']],
      ['allow_any', ['*']],
    ]);
  });

  test('inline endpoints use the same mapping', () => {
    const t = tempYaml({
      'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [ext.example.com]
  ports: [{number: 443, name: http-alt, protocol: HTTP, targetPort: 8443}]
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.1}
  - {address: 192.0.2.2, ports: {http-alt: 9443}, labels: {zone: b}}
`,
    });
    const c = loadConfig([t.dir]).mesh.clusters[0]!;
    expect(c.endpoints).toEqual([
      { address: '192.0.2.1', port: 8443, labels: {}, weight: 1 },
      { address: '192.0.2.2', port: 9443, labels: { zone: 'b' }, weight: 1 },
    ]);
  });
});

describe('duplicates and determinism', () => {
  test('the same kind/namespace/name twice: the later wins, a warning names both places', () => {
    const dr = (v: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: ${v}}}]
`;
    const t = tempYaml({ 'a.yaml': WEB_SERVICE + '---\n' + dr('v2'), 'b.yaml': '# later\n' + dr('v1') });
    const config = loadConfig([t.dir]);
    const v1 = config.mesh.clusters.find((c) => c.subset === 'v1')!;
    expect(v1.endpoints.map((e) => e.port)).toEqual([15101]);
    const w = config.warnings.filter((x) => x.includes('replaces'));
    expect(w).toEqual([
      `${t.path('b.yaml')}:2 (document 1) DestinationRule default/web: replaces the DestinationRule of the same name defined at ${t.path('a.yaml')}:30 (document 4); the later definition wins`,
    ]);
  });

  test('loading twice gives deep-equal, byte-identical results', () => {
    const a = loadConfig([DEMO], { gateway: 'web-gateway' });
    const b = loadConfig([DEMO], { gateway: 'web-gateway' });
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    // Seed 003 asks for ISTIO_MUTUAL, which is only loaded with the flag (security-checks.ts).
    const m1 = loadConfig([SERVICES, SPLIT_80_20, 'test/config/fixtures/seed-003'], { allowUnenforcedSecurity: true });
    const m2 = loadConfig([SERVICES, SPLIT_80_20, 'test/config/fixtures/seed-003'], { allowUnenforcedSecurity: true });
    expect(JSON.stringify(m2.mesh)).toBe(JSON.stringify(m1.mesh));
  });

  test('ConfigError is the only failure mode', () => {
    expect(() => loadConfig(['no/such/file.yaml'])).toThrow(ConfigError);
  });
});
