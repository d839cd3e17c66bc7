// The Istio YAML of the mTLS modes' sidecar pair (bench:protocols `mtls-*`), one mode's upstream
// per pair: proxy A serves Gateway `mtls-gw` (an HTTP server on 80, a TCP server on 31400) and
// routes both to the service `mtls-echo.bench.internal`, a MESH_INTERNAL ServiceEntry whose one
// instance (a WorkloadEntry with Istio's `security.istio.io/tlsMode: istio` label and service
// account bench-app) is proxy B's inbound: A originates Istio's mTLS to it by auto mTLS
// (ISTIO_MUTUAL, the bench-app SPIFFE ID expected), B terminates it under a mesh-wide STRICT
// PeerAuthentication and hands the bytes to the upstream in plaintext. Both planes load exactly
// this (wasmesh from the folder, Envoy through the repo's translation of it).
import { gatewayVirtualServiceYaml, gatewayYaml, meshServiceEntryYaml, peerAuthenticationYaml, routeTo, tcpRouteTo, workloadEntryYaml, yamlDocs, type IstioPort } from '../../host/config/istio-yaml-builders.js';
import { APP_SA, MTLS_NAMESPACE } from '../e2e/mtls-pair.js';
import { GATEWAY_HTTP_PORT, GATEWAY_TCP_PORT } from './mesh-yaml.js';

export const MTLS_GATEWAY = 'mtls-gw';
export const MTLS_SERVICE = 'mtls-echo.bench.internal';

/** What the service between the pair carries: the port protocol of its one port. */
export type MtlsHopProtocol = 'HTTP' | 'HTTP2' | 'TCP';

const SERVICE_PORT: Record<MtlsHopProtocol, IstioPort> = {
  HTTP: { number: 8080, name: 'http', protocol: 'HTTP' },
  HTTP2: { number: 8080, name: 'http2', protocol: 'HTTP2' },
  TCP: { number: 7000, name: 'tcp', protocol: 'TCP' },
};

/** The pair's YAML files by name; `inbound` is where proxy B takes the mesh's mTLS. */
export function mtlsPairMeshYaml(protocol: MtlsHopProtocol, inbound: { host: string; port: number }): Record<string, string> {
  const port = SERVICE_PORT[protocol];
  return {
    '00-service.yaml': yamlDocs(
      meshServiceEntryYaml({ name: 'mtls-echo', namespace: MTLS_NAMESPACE, host: MTLS_SERVICE, port, selector: { app: 'mtls-echo' } }),
      workloadEntryYaml({ name: 'mtls-echo-b', namespace: MTLS_NAMESPACE, address: inbound.host, serviceAccount: APP_SA, labels: { app: 'mtls-echo', 'security.istio.io/tlsMode': 'istio' }, ports: { [port.name]: inbound.port } }),
      peerAuthenticationYaml('STRICT'),
    ),
    '01-gateway.yaml': yamlDocs(
      gatewayYaml(MTLS_GATEWAY, [{ port: { number: GATEWAY_HTTP_PORT, name: 'http', protocol: 'HTTP' } }, { port: { number: GATEWAY_TCP_PORT, name: 'tcp', protocol: 'TCP' } }], MTLS_NAMESPACE),
      protocol === 'TCP'
        ? gatewayVirtualServiceYaml({ name: 'mtls-tcp', namespace: MTLS_NAMESPACE, gateway: MTLS_GATEWAY, tcp: [tcpRouteTo(MTLS_SERVICE, GATEWAY_TCP_PORT)] })
        // The authority rewritten to the service: B hands a request to the app port its Host names (none: the first).
        : gatewayVirtualServiceYaml({ name: 'mtls-http', namespace: MTLS_NAMESPACE, gateway: MTLS_GATEWAY, http: [`${routeTo(MTLS_SERVICE)}\n    rewrite: {authority: ${MTLS_SERVICE}}`] }),
    ),
  };
}
