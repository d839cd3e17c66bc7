import { describe, expect, test } from 'vitest';
import { readConfig } from '../../../host/config/load-config.js';
import { resolveMesh } from '../../../host/config/translate/resolve-mesh.js';
import { hostMatches } from '../../../host/config/translate/sidecar-scope.js';
import { DEFAULT_MESH_SETTINGS } from '../../../host/model/mesh-settings.js';
import type { LoadOptions } from '../../../host/config/loaded-config.js';
import type { ConfigIssue } from '../../../host/config/config-error.js';
import { isCatchAllCluster } from '../../../host/model/catch-all.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const se = (name: string, ns: string, host: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: [${host}]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
`;
const sidecar = (name: string, ns: string, body: string) => `apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: ${name}, namespace: ${ns}}
spec:
${body}`;

const SERVICES = [
  se('a', 'default', 'a.default.svc.cluster.local'),
  se('b', 'other', 'b.other.svc.cluster.local'),
  se('ext', 'istio-system', 'api.example.com'),
].join('---\n');

function resolve(extra: string[], options: LoadOptions = {}) {
  const t = tempYaml({ 'services.yaml': SERVICES, ...Object.fromEntries(extra.map((y, i) => [`s${i}.yaml`, y])) });
  const read = readConfig([t.dir]);
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const mesh = resolveMesh({ resources: read.effective, options, issues, warnings, invalid: read.invalid, settings: DEFAULT_MESH_SETTINGS });
  const hosts = [...new Set(mesh.clusters.filter((c) => !isCatchAllCluster(c.name)).map((c) => c.host))];
  return { mesh, issues, warnings, hosts };
}

describe('Sidecar egress scoping', () => {
  test('without a Sidecar every host is visible', () => {
    expect(resolve([]).hosts).toEqual(['a.default.svc.cluster.local', 'api.example.com', 'b.other.svc.cluster.local']);
  });

  test('`./*` keeps the proxy namespace\'s hosts; `*/api.example.com` adds one host from any namespace', () => {
    const r = resolve([sidecar('default', 'default', '  egress: [{hosts: ["./*", "*/api.example.com"]}]\n')]);
    expect(r.issues).toEqual([]);
    expect(r.hosts).toEqual(['a.default.svc.cluster.local', 'api.example.com']);
    // Virtual hosts follow: b's names are gone, the catch-all stays.
    const names = r.mesh.virtualHosts.map((v) => v.name);
    expect(names).toContain('a.default.svc.cluster.local');
    expect(names.some((n) => n.startsWith('b.other'))).toBe(false);
    expect(names.at(-1)).toBe('allow_any');
  });

  test('`other/*` and `~/*`', () => {
    expect(resolve([sidecar('s', 'default', '  egress: [{hosts: ["other/*"]}]\n')]).hosts).toEqual(['b.other.svc.cluster.local']);
    expect(resolve([sidecar('s', 'default', '  egress: [{hosts: ["~/*"]}]\n')]).hosts).toEqual([]);
  });

  test('precedence: selector in the workload namespace > namespace-wide > root namespace default', () => {
    const root = sidecar('default', 'istio-system', '  egress: [{hosts: ["./*"]}]\n');
    const nsWide = sidecar('ns', 'default', '  egress: [{hosts: ["other/*"]}]\n');
    const selected = sidecar('sel', 'default', '  workloadSelector: {labels: {app: web}}\n  egress: [{hosts: ["istio-system/*"]}]\n');
    // The root default's `.` is the workload's namespace.
    expect(resolve([root]).hosts).toEqual(['a.default.svc.cluster.local']);
    expect(resolve([root], { namespace: 'other' }).hosts).toEqual(['b.other.svc.cluster.local']);
    expect(resolve([root, nsWide]).hosts).toEqual(['b.other.svc.cluster.local']);
    expect(resolve([root, nsWide, selected], { labels: { app: 'web' } }).hosts).toEqual(['api.example.com']);
    // The selector does not match other workloads: the namespace-wide one applies.
    expect(resolve([root, nsWide, selected], { labels: { app: 'db' } }).hosts).toEqual(['b.other.svc.cluster.local']);
    // A Sidecar of another namespace never applies.
    expect(resolve([sidecar('x', 'other', '  egress: [{hosts: ["~/*"]}]\n')]).hosts).toHaveLength(3);
  });

  test('outboundTrafficPolicy per workload overrides meshConfig', () => {
    const r = resolve([sidecar('s', 'default', '  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n')]);
    expect(r.mesh.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
    expect(r.mesh.virtualHosts.at(-1)!.name).toBe('block_all');
    expect(r.hosts).toHaveLength(3);
  });

  test('gateways are not scoped by a Sidecar', () => {
    const gw = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]
`;
    const r = resolve([gw, sidecar('s', 'default', '  egress: [{hosts: ["~/*"]}]\n')], { gateway: 'gw' });
    expect(r.hosts).toHaveLength(3);
  });

  test('a route to a hidden service keeps its cluster without endpoints', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default}
spec:
  hosts: [a.default.svc.cluster.local]
  http: [{route: [{destination: {host: b.other.svc.cluster.local}}]}]
`;
    const r = resolve([vs, sidecar('s', 'default', '  egress: [{hosts: ["./*"]}]\n')]);
    expect(r.mesh.clusters.find((c) => c.host === 'b.other.svc.cluster.local')!.endpoints).toEqual([]);
    expect(r.mesh.clusters.find((c) => c.host === 'a.default.svc.cluster.local')!.endpoints).toHaveLength(1);
  });

  test('bad egress hosts are located issues; ingress and per-port egress are located warnings', () => {
    const r = resolve([sidecar('s', 'default', '  egress: [{hosts: ["noslash", "./a*b"], port: {number: 80}}]\n  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:8080"}]\n')]);
    expect(r.issues.map((i) => i.path)).toEqual(['spec.egress[0].hosts[0]', 'spec.egress[0].hosts[1]']);
    expect(r.warnings.some((w) => /spec\.ingress: ingress listeners are not served yet/.test(w))).toBe(true);
    expect(r.warnings.some((w) => /spec\.egress\[0\]\.port: per-port egress listeners/.test(w))).toBe(true);
  });

  test('hostMatches', () => {
    expect(hostMatches('*', 'x.y')).toBe(true);
    expect(hostMatches('*.example.com', 'api.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('api.example.com', 'api.example.com')).toBe(true);
    expect(hostMatches('api.example.com', 'x.api.example.com')).toBe(false);
  });
});
