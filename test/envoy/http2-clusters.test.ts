// HTTP/2 in the Envoy translation: a cluster wasmesh's pool speaks HTTP/2 to (a grpc/http2 port,
// or DestinationRule h2UpgradePolicy UPGRADE) states http2_protocol_options, with the connection
// pool mapped as Istio's applyConnectionPool does (http2MaxRequests → max_requests,
// maxConcurrentStreams → max_concurrent_streams, maxRequestsPerConnection → common options);
// ALPN h2 with TLS; HTTP/1.1 clusters unchanged; the HCM takes HTTP/1.x and h2c (codec AUTO).
// Then the real Envoy validates the bootstrap, and the xDS encoding takes it.
import { describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyXdsResources } from '../../host/envoy/xds-resources.js';
import { anyFromJson } from '../../host/xds/proto-json.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { envoyValidate, loadYaml } from './protocol-fixtures.js';
import { destinationRuleYaml, gatewayVirtualServiceYaml, gatewayYaml, routeTo, staticServiceEntryYaml, yamlDocs, type IstioPort } from '../../host/config/istio-yaml-builders.js';

/** A ServiceEntry `<name>.example.internal`, its one endpoint on 127.0.0.1:`endpointPort`. */
const entry = (name: string, port: IstioPort, endpointPort: number): string => staticServiceEntryYaml({ name, host: `${name}.example.internal`, port, endpointPort });
const rule = (name: string, trafficPolicy: string): string => destinationRuleYaml(name, `${name}.example.internal`, trafficPolicy);

const FILES = {
  'se.yaml': yamlDocs(
    entry('greeter', { number: 50051, name: 'main', protocol: 'GRPC' }, 15201),
    entry('h2web', { number: 8080, name: 'main', protocol: 'HTTP2' }, 15202),
    entry('upgraded', { number: 8080, name: 'main', protocol: 'HTTP' }, 15203),
    entry('plain', { number: 8080, name: 'main', protocol: 'HTTP' }, 15204),
    entry('secure', { number: 8443, name: 'main', protocol: 'GRPC' }, 15205),
  ),
  'dr.yaml': yamlDocs(
    rule('greeter', 'connectionPool:\n  http: {http2MaxRequests: 300, maxConcurrentStreams: 64, maxRequestsPerConnection: 1000}'),
    rule('upgraded', 'connectionPool:\n  http: {h2UpgradePolicy: UPGRADE}'),
    rule('secure', 'tls: {mode: SIMPLE, caCertificates: /etc/ssl/certs/ca-certificates.crt, sni: secure.example.internal}'),
  ),
  'gw.yaml': yamlDocs(gatewayYaml('gw'), gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: [
    routeTo('greeter.example.internal', '/greeter'),
    routeTo('h2web.example.internal', '/h2'),
    routeTo('upgraded.example.internal', '/up'),
    routeTo('secure.example.internal', '/secure'),
    routeTo('plain.example.internal'),
  ] })),
};

const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/* eslint-disable @typescript-eslint/no-explicit-any */
const build = (): any => envoyBootstrap(loadYaml(FILES, 'gw'), { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw' });
const cluster = (c: any, host: string): any => c.static_resources.clusters.find((x: any) => x.name.endsWith(`|${host}.example.internal`));

describe('envoyBootstrap: HTTP/2 clusters and downstream', () => {
  const { config } = build();

  it('a GRPC port: http2_protocol_options with maxConcurrentStreams; http2MaxRequests the breaker, maxRequestsPerConnection the common options', () => {
    const g = cluster(config, 'greeter');
    expect(g.typed_extension_protocol_options[OPTIONS]).toEqual({
      '@type': `type.googleapis.com/${OPTIONS}`,
      common_http_protocol_options: { max_requests_per_connection: 1000 },
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 64 } },
    });
    expect(g.circuit_breakers.thresholds[0].max_requests).toBe(300);
  });

  it('an HTTP2 port without a DestinationRule, and an HTTP port with h2UpgradePolicy UPGRADE: empty http2_protocol_options', () => {
    for (const host of ['h2web', 'upgraded']) {
      expect(cluster(config, host).typed_extension_protocol_options[OPTIONS]).toEqual({ '@type': `type.googleapis.com/${OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } });
    }
  });

  it('an HTTP port stays HTTP/1.1 (no protocol options written); SIMPLE TLS to a GRPC port offers ALPN h2', () => {
    expect(cluster(config, 'plain').typed_extension_protocol_options).toBeUndefined();
    const s = cluster(config, 'secure');
    expect(s.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2']);
    expect(s.typed_extension_protocol_options[OPTIONS].explicit_http_config).toEqual({ http2_protocol_options: {} });
  });

  it('the HCM picks its codec by the first bytes (AUTO: HTTP/1.x and h2c), still taking HTTP/1.0', () => {
    const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm.codec_type).toBe('AUTO');
    expect(hcm.http_protocol_options).toEqual({ accept_http_10: true });
  });

  it('the xDS split encodes the HTTP/2 clusters with Envoy\'s protos', () => {
    const xds = envoyXdsResources(config);
    const g = xds.clusters.find((c: any) => c.name.endsWith('|greeter.example.internal'))!;
    expect(anyFromJson(envoyProtos(), TYPE_URL.cluster, g).value.length).toBeGreaterThan(0);
    expect(anyFromJson(envoyProtos(), TYPE_URL.listener, xds.listeners[0]).value.length).toBeGreaterThan(0);
  });

  const envoy = envoyForTests('http2-clusters');
  it.skipIf(envoy === null)('envoy --mode validate accepts the bootstrap', async () => {
    const result = await envoyValidate(envoy!, build().yaml);
    expect(result.ok, result.output).toBe(true);
  });
});
