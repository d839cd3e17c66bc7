// Istio YAML for runtime tests: svc.test as a ServiceEntry with one endpoint, and a
// VirtualService that answers /local itself (with `body`) and sends the rest to the endpoint.

/** `upstreamPort`: svc.test's endpoint on 127.0.0.1; `body`: what /local answers. */
export function meshYaml(upstreamPort: number, body: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc }
spec:
  hosts: [svc.test]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${upstreamPort} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc }
spec:
  hosts: [svc.test]
  http:
  - name: local
    match: [{ uri: { prefix: /local } }]
    directResponse: { status: 200, body: { string: "${body}" } }
  - name: up
    route: [{ destination: { host: svc.test } }]
`;
}
