// meshConfig pathNormalization on both data planes: the same `istio` ConfigMap and a gateway
// VirtualService that sends the `/admin` prefix to v2 and everything else to v1. Stock Envoy runs
// the bootstrap `wasmesh envoy-config` made (HCM normalize_path / merge_slashes /
// path_with_escaped_slashes_action, as Istio sets them); wasmesh normalizes in its stream.
// Every spelling of /admin a mode normalizes must reach v2 on both, every other one v1.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dataPlanes, type RunningProxy } from './data-planes.js';
import { check, send } from './exchanges.js';
import type { Exchange, Scenario } from './scenarios.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { webServices } from '../helpers/seed-000-yaml.js';

const V1 = 'Version: v0.1';
const V2 = 'Version: v0.2';

const ROUTES = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [web-gateway]
  http:
  - match: [{uri: {prefix: /admin}}]
    route: [{destination: {host: web, port: {number: 5005}, subset: v2}}]
  - route: [{destination: {host: web, port: {number: 5005}, subset: v1}}]
`;

function meshConfigMap(mode: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    pathNormalization:
      normalization: ${mode}
`;
}

const to = (version: string, path: string): Exchange => ({
  name: `${path} → ${version === V2 ? 'admin (v2)' : 'v1'}`,
  request: { path, count: 2 },
  expect: { kind: 'split', shares: { [version]: 1 }, tolerancePoints: 0 },
});

const scenarios: Scenario[] = [
  {
    name: 'default (BASE): dot segments, escapes of unreserved characters, backslashes',
    gateway: 'web-gateway',
    files: (ports) => ({ '00-services.yaml': webServices(ports), '01-routes.yaml': ROUTES }),
    exchanges: [
      to(V2, '/admin'), to(V2, '/./admin'), to(V2, '/%61dmin'), to(V2, '/public/../admin'), to(V2, '/x/%2E%2E/admin'),
      to(V1, '//admin'), to(V1, '/x%2F..%2Fadmin'), to(V2, '/public\\..\\admin'), to(V1, '/%2561dmin'), to(V2, '/%41dmin/../admin'),
      { name: '/admin%00 → 400', request: { path: '/admin%00', count: 1 }, expect: { kind: 'every', status: 400 } },
    ],
  },
  {
    name: 'MERGE_SLASHES: // merged, %2F kept',
    gateway: 'web-gateway',
    files: (ports) => ({ '00-services.yaml': webServices(ports), '01-routes.yaml': ROUTES, '02-mesh.yaml': meshConfigMap('MERGE_SLASHES') }),
    exchanges: [to(V2, '//admin'), to(V2, '/x/..//admin'), to(V1, '/x%2F..%2Fadmin'), to(V1, '/x%5C..%5Cadmin')],
  },
  {
    name: 'DECODE_AND_MERGE_SLASHES: %2F and %5C decoded too',
    gateway: 'web-gateway',
    files: (ports) => ({ '00-services.yaml': webServices(ports), '01-routes.yaml': ROUTES, '02-mesh.yaml': meshConfigMap('DECODE_AND_MERGE_SLASHES') }),
    exchanges: [to(V2, '//admin'), to(V2, '/x%2F..%2Fadmin'), to(V2, '/x%5C..%5Cadmin'), to(V2, '/%2Fadmin')],
  },
  {
    name: 'NONE: the path as received',
    gateway: 'web-gateway',
    files: (ports) => ({ '00-services.yaml': webServices(ports), '01-routes.yaml': ROUTES, '02-mesh.yaml': meshConfigMap('NONE') }),
    exchanges: [
      to(V2, '/admin'), to(V1, '/public/../admin'), to(V1, '/%61dmin'), to(V1, '//admin'),
      // CVE-2021-39156: the fragment is stripped in every mode.
      to(V2, '/admin#/../public'),
      // Without normalize_path Envoy forwards %00 (the 400 is normalize_path's).
      to(V2, '/admin%00'),
    ],
  },
];

for (const plane of dataPlanes().filter((p) => p.name !== 'envoy+filters')) {
  if (plane.unavailable !== null) console.warn(`path-normalization interop: ${plane.name} skipped: ${plane.unavailable}`);

  describe.skipIf(plane.unavailable !== null)(`path normalization on ${plane.name}`, () => {
    let upstreams: Upstreams;
    beforeAll(async () => { upstreams = await startUpstreams(); });
    afterAll(async () => { await upstreams?.close(); });

    for (const scenario of scenarios) {
      describe(scenario.name, () => {
        let proxy: RunningProxy | undefined;
        beforeAll(async () => { proxy = await plane.start(scenario, upstreams.ports); });
        afterAll(async () => { await proxy?.stop(); });
        for (const exchange of scenario.exchanges) {
          it(exchange.name, async () => {
            check(exchange, await send(proxy!.port, exchange));
          });
        }
      });
    }
  });
}
