// The client side of the mesh mTLS tests: a ServiceEntry for `hosts` with one WorkloadEntry at
// 127.0.0.1:`port`, labelled security.istio.io/tlsMode: istio (Istio's auto mTLS) and running as
// service account `sa` (the SPIFFE ID its server certificate must carry). Written with the shared
// builders (host/config/istio-yaml-builders.ts).
import { meshServiceEntryYaml, workloadEntryYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

export function autoMtlsMesh(port: number, sa = 'app', hosts: readonly string[] = ['app.example']): string {
  return yamlDocs(
    meshServiceEntryYaml({ name: 'app', host: hosts, port: { number: 80, name: 'http', protocol: 'HTTP' }, selector: { app: 'app' } }),
    workloadEntryYaml({ name: 'app-1', address: '127.0.0.1', serviceAccount: sa, labels: { app: 'app', 'security.istio.io/tlsMode': 'istio' }, ports: { http: port } }),
  );
}
