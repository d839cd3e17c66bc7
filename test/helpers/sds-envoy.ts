// Envoy configuration for the SDS tests: a static listener that terminates mTLS with the workload
// agent's `default` and `ROOTCA` secrets and sets x-forwarded-client-cert for the app.
import { sdsSecretConfig } from '../../host/envoy/sds-config.js';

/** A listener terminating mTLS with the agent's `default` and `ROOTCA`. */
export function sdsTlsListener(port: number, cluster: string): Record<string, unknown> {
  return {
    name: 'mtls',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          require_client_certificate: true,
          common_tls_context: {
            tls_certificate_sds_secret_configs: [sdsSecretConfig('default')],
            validation_context_sds_secret_config: sdsSecretConfig('ROOTCA'),
          },
        },
      },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'mtls',
          forward_client_cert_details: 'SANITIZE_SET',
          set_current_client_cert_details: { subject: true, uri: true },
          route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
        },
      }],
    }],
  };
}
