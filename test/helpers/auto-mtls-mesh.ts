// The client side of the mesh mTLS tests: a ServiceEntry for `hosts` with one WorkloadEntry at
// 127.0.0.1:`port`, labelled security.istio.io/tlsMode: istio (Istio's auto mTLS) and running as
// service account `sa` (the SPIFFE ID its server certificate must carry).
export function autoMtlsMesh(port: number, sa = 'app', hosts: readonly string[] = ['app.example']): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app }
spec:
  hosts: [${hosts.join(', ')}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: { labels: { app: app } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: app-1 }
spec:
  address: 127.0.0.1
  serviceAccount: ${sa}
  labels: { app: app, security.istio.io/tlsMode: istio }
  ports: { http: ${port} }
`;
}
