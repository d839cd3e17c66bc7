// Kubernetes Services as a registry in file mode (translate/kube-registry.ts): a Service with its
// EndpointSlices, Endpoints or addressed Pods becomes <name>.<ns>.svc.cluster.local with its
// ports and ready endpoints; ExternalName is a DNS service; what has no address is skipped with
// a warning saying what to add; bad objects are located issues. The same objects from a live API
// server: a Pod without an IP is skipped silently and a Service without endpoints served with none.
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, readConfig, resolveConfig, type ConfigIssue, type LoadOptions } from '../../../host/config/index.js';
import { readResource } from '../../../host/config/read-resource.js';
import type { MeshConfig } from '../../../host/model/mesh.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const load = (yaml: string, options: LoadOptions = {}) => {
  const t = tempYaml({ 'k.yaml': yaml });
  return { ...loadConfig([t.dir], options), file: t.path('k.yaml') };
};
const endpoints = (mesh: MeshConfig, cluster: string): string[] => {
  const c = mesh.clusters.find((x) => x.name === cluster);
  if (c === undefined) throw new Error(`no cluster ${cluster} in ${mesh.clusters.map((x) => x.name).join(', ')}`);
  return c.endpoints.map((e) => `${e.address}:${e.port}`);
};
const issuesOf = (yaml: string): Array<{ path: string; reason: string; kind: string | null; line: number | null }> => {
  try {
    load(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => ({ path: i.path, reason: i.reason, kind: i.kind, line: i.line }));
    throw e;
  }
  throw new Error('loaded without an issue');
};

const REVIEWS = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec:
  selector: { app: reviews }
  ports:
  - { name: http, port: 9080, targetPort: 9081 }
  - { name: grpc-api, port: 7070, appProtocol: kubernetes.io/h2c }
`;

describe('Service + EndpointSlice', () => {
  const SLICE = `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-1, namespace: shop, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
ports: [{ name: http, port: 19080 }, { name: grpc-api, port: 17070 }]
endpoints:
- { addresses: [127.0.0.10], conditions: { ready: true }, targetRef: { kind: Pod, name: reviews-v1-a } }
- { addresses: [127.0.0.11], conditions: { ready: false } }
- { addresses: [127.0.0.12] }
- { addresses: [127.0.0.13], conditions: { ready: null } }
---
apiVersion: v1
kind: Pod
metadata: { name: reviews-v1-a, namespace: shop, labels: { app: reviews, version: v1 } }
status: { podIP: 127.0.0.10 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }]
`;

  test('the host is <name>.<ns>.svc.cluster.local, each port reaches the slice\'s port of the same name, ready endpoints only', () => {
    const { mesh, warnings } = load(REVIEWS + SLICE, { namespace: 'shop' });
    expect(endpoints(mesh, 'outbound|9080||reviews.shop.svc.cluster.local')).toEqual(['127.0.0.10:19080', '127.0.0.12:19080', '127.0.0.13:19080']);
    expect(endpoints(mesh, 'outbound|7070||reviews.shop.svc.cluster.local')).toEqual(['127.0.0.10:17070', '127.0.0.12:17070', '127.0.0.13:17070']);
    // The name a client in the namespace uses, with and without the port.
    const vh = mesh.virtualHosts.find((v) => v.name === 'reviews.shop.svc.cluster.local:9080')!;
    expect(vh.domains).toEqual(expect.arrayContaining(['reviews:9080', 'reviews.shop.svc.cluster.local:9080']));
    expect(warnings.join('\n')).not.toMatch(/reviews/);
  });

  test('appProtocol and the port name give the protocol (kubernetes.io/h2c is HTTP/2)', () => {
    const { mesh } = load(REVIEWS + SLICE);
    expect(mesh.clusters.find((c) => c.name === 'outbound|7070||reviews.shop.svc.cluster.local')!.protocol).toBe('HTTP2');
    expect(mesh.clusters.find((c) => c.name === 'outbound|9080||reviews.shop.svc.cluster.local')!.protocol).toBeUndefined(); // HTTP
  });

  test('an endpoint\'s targetRef Pod gives it the Pod\'s labels, so DestinationRule subsets select it', () => {
    const { mesh } = load(REVIEWS + SLICE);
    expect(endpoints(mesh, 'outbound|9080|v1|reviews.shop.svc.cluster.local')).toEqual(['127.0.0.10:19080']);
  });

  test('an endpoint of a loaded Pod is expected to prove the Pod\'s service account (its namespace, the load\'s trust domain); others name no identity', () => {
    const withSa = REVIEWS + SLICE.replace('status: { podIP: 127.0.0.10 }', 'spec: { serviceAccountName: bookinfo-reviews }\nstatus: { podIP: 127.0.0.10 }');
    const c = load(withSa, { trustDomain: 'example.org' }).mesh.clusters.find((x) => x.name === 'outbound|9080||reviews.shop.svc.cluster.local')!;
    expect(c.endpoints.map((e) => [e.address, e.spiffeId])).toEqual([
      ['127.0.0.10', 'spiffe://example.org/ns/shop/sa/bookinfo-reviews'], ['127.0.0.12', undefined], ['127.0.0.13', undefined],
    ]);
    // A Pod that names none runs as `default`, as Kubernetes runs it.
    const plain = load(REVIEWS + SLICE).mesh.clusters.find((x) => x.name === 'outbound|9080||reviews.shop.svc.cluster.local')!;
    expect(plain.endpoints[0]!.spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/default');
  });

  test('a headless Service (clusterIP: None) balances over its ready endpoints', () => {
    const { mesh } = load(REVIEWS.replace('spec:\n', 'spec:\n  clusterIP: None\n') + SLICE);
    expect(endpoints(mesh, 'outbound|9080||reviews.shop.svc.cluster.local')).toEqual(['127.0.0.10:19080', '127.0.0.12:19080', '127.0.0.13:19080']);
    expect(mesh.clusters.find((c) => c.name === 'outbound|9080||reviews.shop.svc.cluster.local')!.lb).not.toBe('PASSTHROUGH');
  });

  test('a ServiceEntry of the same host keeps it (warned)', () => {
    const { mesh, warnings } = load(`${REVIEWS}${SLICE}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews-se, namespace: shop }
spec:
  hosts: [reviews.shop.svc.cluster.local]
  ports: [{ number: 9080, name: http }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.99 }]
`);
    expect(endpoints(mesh, 'outbound|9080||reviews.shop.svc.cluster.local')).toEqual(['127.0.0.99:9080']);
    expect(warnings.join('\n')).toMatch(/Service shop\/reviews: host reviews\.shop\.svc\.cluster\.local is also defined by ServiceEntry shop\/reviews-se .*; the ServiceEntry is used, this Service is not/);
  });
});

describe('Service + Endpoints, Pods, ExternalName', () => {
  test('Endpoints: addresses take traffic, notReadyAddresses do not; ports by name', () => {
    const { mesh } = load(`${REVIEWS}---
apiVersion: v1
kind: Endpoints
metadata: { name: reviews, namespace: shop }
subsets:
- addresses: [{ ip: 127.0.0.20 }, { ip: 127.0.0.21 }]
  notReadyAddresses: [{ ip: 127.0.0.22 }]
  ports: [{ name: http, port: 29080 }, { name: grpc-api, port: 27070 }]
`);
    expect(endpoints(mesh, 'outbound|9080||reviews.shop.svc.cluster.local')).toEqual(['127.0.0.20:29080', '127.0.0.21:29080']);
  });

  test('Pods with status.podIP that the selector matches are the endpoints (ready ones; targetPort by number or container port name)', () => {
    const { mesh, warnings } = load(`apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: web-port }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, labels: { app: web, version: v1 } }
spec: { containers: [{ name: app, image: x, ports: [{ name: web-port, containerPort: 8081 }] }] }
status: { podIP: 127.0.0.30, phase: Running, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, labels: { app: web } }
spec: { containers: [{ name: app, image: x, ports: [{ name: web-port, containerPort: 8082 }] }] }
status: { podIP: 127.0.0.31, conditions: [{ type: Ready, status: "False" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-3, labels: { app: web } }
spec: { containers: [{ name: app, image: x }] }
`);
    expect(endpoints(mesh, 'outbound|80||web.default.svc.cluster.local')).toEqual(['127.0.0.30:8081']);
    expect(mesh.clusters.find((c) => c.name === 'outbound|80||web.default.svc.cluster.local')!.endpoints[0]!.labels).toEqual({ app: 'web', version: 'v1' });
    expect(warnings).toEqual([expect.stringMatching(/\(document 4\) Pod default\/web-3: status\.podIP: v1 Pod skipped: it has no address without Kubernetes; add status\.podIP/)]);
  });

  test('ExternalName: a DNS service to the external name on each port', () => {
    const { mesh } = load(`apiVersion: v1
kind: Service
metadata: { name: db }
spec: { type: ExternalName, externalName: db.example.test, ports: [{ name: tcp-pg, port: 5432 }] }
`);
    const c = mesh.clusters.find((x) => x.name === 'outbound|5432||db.default.svc.cluster.local')!;
    expect(c.dnsResolution).toBe('STRICT_DNS');
    expect(c.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['db.example.test:5432']);
    expect(c.protocol).toBe('TCP');
  });

  test('a Service nothing gives endpoints is skipped, saying what to add; Deployments say what gives their pods addresses', () => {
    const { mesh, warnings } = load(`apiVersion: v1
kind: Service
metadata: { name: lonely }
spec: { selector: { app: lonely }, ports: [{ port: 80 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: lonely }
spec: { selector: { matchLabels: { app: lonely } }, template: { metadata: { labels: { app: lonely } }, spec: { containers: [{ name: a, image: x }] } } }
`);
    expect(mesh.clusters.map((c) => c.name)).toEqual(['BlackHoleCluster', 'PassthroughCluster']);
    expect(warnings).toEqual([
      expect.stringMatching(/\(document 2\) Deployment lonely: apps\/v1 Deployment skipped: .*give the Service that selects them an EndpointSlice \(discovery\.k8s\.io\/v1, labelled kubernetes\.io\/service-name\) or Endpoints with the instances' addresses, or add each Pod with status\.podIP/),
      expect.stringMatching(/\(document 1\) Service default\/lonely: v1 Service skipped: .*add an EndpointSlice \(discovery\.k8s\.io\/v1, labelled kubernetes\.io\/service-name: lonely\) or an Endpoints lonely/),
    ]);
  });

  test('seed 000: its Service without endpoints stands beside the ServiceEntry that stands in for it, which is used (said once, no advice to add endpoints)', () => {
    const { mesh, warnings } = loadConfig(['examples/000-web-demo']);
    const service = warnings.filter((w) => / Service default\/web:/.test(w));
    expect(service).toEqual([expect.stringMatching(/01-web-demo-versions\.yaml:1 \(document 1\) Service default\/web: host web\.default\.svc\.cluster\.local is also defined by ServiceEntry default\/web \(examples\/000-web-demo\/00-web-services\.yaml\); the ServiceEntry is used, this Service is not$/)]);
    expect(endpoints(mesh, 'outbound|5005|v1|web.default.svc.cluster.local')).toEqual(['127.0.0.1:15101']);
  });

  test('UDP ports are not proxied (warned); slices and Endpoints of no loaded Service are warned about', () => {
    const { mesh, warnings } = load(`apiVersion: v1
kind: Service
metadata: { name: dns }
spec: { ports: [{ name: dns-udp, port: 53, protocol: UDP }, { name: dns-tcp, port: 53, protocol: TCP }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: dns }
subsets: [{ addresses: [{ ip: 127.0.0.53 }], ports: [{ name: dns-tcp, port: 5353 }] }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ghost-1, labels: { kubernetes.io/service-name: ghost } }
addressType: IPv4
endpoints: [{ addresses: [127.0.0.1] }]
`);
    expect(endpoints(mesh, 'outbound|53||dns.default.svc.cluster.local')).toEqual(['127.0.0.53:5353']);
    expect(warnings.join('\n')).toMatch(/Service default\/dns: spec\.ports\[0\]\.protocol: UDP ports are not proxied; port 53 skipped/);
    expect(warnings.join('\n')).toMatch(/EndpointSlice default\/ghost-1: metadata\.labels\["kubernetes\.io\/service-name"\]: no Service default\/ghost in the loaded files/);
  });
});

describe('bad Kubernetes objects are located issues', () => {
  test('a port out of range, an EndpointSlice endpoint without addresses, a bad addressType', () => {
    expect(issuesOf(`apiVersion: v1
kind: Service
metadata: { name: a }
spec: { ports: [{ name: http, port: 70000 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: a-1, labels: { kubernetes.io/service-name: a } }
addressType: IPv5
endpoints: [{ addresses: [] }]
`)).toEqual([
      // Each at the line of the field (or of its nearest written parent).
      { kind: 'Service', line: 4, path: 'spec.ports[0].port', reason: expect.stringMatching(/port must be in 1\.\.65535/) },
      { kind: 'EndpointSlice', line: 9, path: 'addressType', reason: expect.stringMatching(/IPv4.*IPv6.*FQDN/) },
      { kind: 'EndpointSlice', line: 10, path: 'endpoints[0].addresses', reason: expect.stringMatching(/an endpoint needs at least one address/) },
    ]);
  });

  test('ExternalName without externalName; several ports, one unnamed', () => {
    expect(issuesOf(`apiVersion: v1
kind: Service
metadata: { name: ext }
spec: { type: ExternalName, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: two }
spec: { ports: [{ name: http, port: 80 }, { port: 81 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: two }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: 80 }] }]
`)).toEqual([
      { kind: 'Service', line: 4, path: 'spec.externalName', reason: 'a Service of type ExternalName needs externalName (the DNS name it stands for)' },
      { kind: 'Service', line: 9, path: 'spec.ports[1].name', reason: 'a Service with several ports must name each one' },
    ]);
  });
});

describe('the same objects from a live API server (readConfig extra, control-plane --kube)', () => {
  /** Objects as KubeResourceSource reads them: each a YAML document from `kube-apiserver`. */
  const live = (...objects: Array<Record<string, unknown>>) => {
    const issues: ConfigIssue[] = [];
    const warnings: string[] = [];
    const extra = objects.map((value) => readResource({ file: `kube-apiserver ${String(value.kind)}`, doc: 1, line: 1, value, lineOf: () => 1 }, 'default', issues, warnings));
    expect(issues).toEqual([]);
    return resolveConfig(readConfig([], 'default', undefined, extra));
  };
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
  const pending = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] }, status: { phase: 'Pending' } };

  test('a Pod with no IP yet (Pending) is skipped without a warning; a Service with no endpoints yet is served with none', () => {
    const { mesh, warnings } = live(service, pending);
    expect(warnings).toEqual([]);
    expect(endpoints(mesh, 'outbound|80||web.shop.svc.cluster.local')).toEqual([]);
  });

  test('once the controllers give it a slice, its ready endpoints are served, with the Pod\'s labels and identity', () => {
    const running = { ...pending, spec: { ...pending.spec, serviceAccountName: 'web-sa' }, status: { phase: 'Running', podIP: '10.244.0.10', conditions: [{ type: 'Ready', status: 'True' }] } };
    const slice = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: ['10.244.0.10'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } }],
    };
    const { mesh, warnings } = live(service, running, slice);
    expect(warnings).toEqual([]);
    const c = mesh.clusters.find((x) => x.name === 'outbound|80||web.shop.svc.cluster.local')!;
    expect(c.endpoints.map((e) => ({ at: `${e.address}:${e.port}`, labels: e.labels }))).toEqual([{ at: '10.244.0.10:8080', labels: { app: 'web' } }]);
  });

  test('the same Pod and Service in a file are still warned about (file mode: nothing else gives them addresses)', () => {
    const { warnings } = load(`apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web } }
spec: { containers: [{ name: app, image: x }] }
`);
    expect(warnings).toEqual([
      expect.stringMatching(/Pod shop\/web-1: status\.podIP: v1 Pod skipped: it has no address without Kubernetes/),
      expect.stringMatching(/Service shop\/web: v1 Service skipped: wasmesh runs without Kubernetes/),
    ]);
  });
});
