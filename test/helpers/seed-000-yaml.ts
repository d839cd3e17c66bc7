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
