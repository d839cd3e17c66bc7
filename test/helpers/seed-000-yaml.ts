// Seed 000's services as Istio YAML without Kubernetes, with ports of the test's choosing: the
// ServiceEntry `web` (port 5005, named http, selecting app: web) and one WorkloadEntry per version
// on 127.0.0.1 (labels app: web, version: vN), as examples/000-web-demo/00-web-services.yaml
// writes them, for the tests that start their own app versions or only need the services loaded.

/** ServiceEntry `web` and a WorkloadEntry web-v1 (and web-v2 when given) mapping http to its port. */
export function webServices(ports: { readonly v1: number; readonly v2?: number }): string {
  const versions = ports.v2 === undefined ? [['v1', ports.v1]] : [['v1', ports.v1], ['v2', ports.v2]];
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: web
spec:
  hosts: [web]
  ports:
  - {number: 5005, name: http, protocol: HTTP}
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector:
    labels: {app: web}
${versions.map(([v, port]) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: web-${v}}
spec:
  address: 127.0.0.1
  labels: {app: web, version: ${v}}
  ports: {http: ${port}}
`).join('')}`;
}

/** The services at the example's own ports (15101, 15102), for tests that load but never connect. */
export const WEB_SERVICE = webServices({ v1: 15101, v2: 15102 });

/** DestinationRule `web` with subsets v1 and v2 by the `version` label. */
export const WEB_SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`;

/** Gateway `web-gateway` for the ingress gateway (`istio: ingressgateway`), HTTP on `port` (80), bound to `bind` when given. */
export function webGateway(opts: { readonly port?: number; readonly bind?: string } = {}): string {
  const bind = opts.bind === undefined ? '' : `, bind: ${opts.bind}`;
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: ${opts.port ?? 80}, name: http, protocol: HTTP}${bind}, hosts: ["*"]}]
`;
}

/** VirtualService `web` on web-gateway splitting web:5005 between subsets v1 and v2 by `weights`. */
export function webSplit(weights: readonly [number, number]): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [web-gateway]
  http:
  - route:
    - {destination: {host: web, port: {number: 5005}, subset: v1}, weight: ${weights[0]}}
    - {destination: {host: web, port: {number: 5005}, subset: v2}, weight: ${weights[1]}}
`;
}
