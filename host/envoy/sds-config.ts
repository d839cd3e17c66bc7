// Envoy's side of SDS from the workload agent, as Istio's bootstrap writes it: the static
// `sds-grpc` cluster (HTTP/2 over the agent's Unix socket) and the SdsSecretConfig that names a
// secret from it (`default`, `ROOTCA`), for the TLS contexts of listeners and clusters. The
// initial fetch does not time out: a listener or cluster whose secret has not come yet stays
// warming (never serves without its certificate), as in Istio.

type Json = Record<string, unknown>;

/** The cluster name Istio's bootstrap gives the agent's SDS socket. */
export const SDS_CLUSTER = 'sds-grpc';

/** The static cluster to the agent's SDS socket at `socketPath` (relative paths are Envoy's working directory's). */
export function sdsCluster(socketPath: string): Json {
  if (socketPath === '') throw new Error('sds cluster: empty socket path');
  return {
    name: SDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: SDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
    },
  };
}

/** An SdsSecretConfig for secret `name` from the agent (Istio's `default` or `ROOTCA`). */
export function sdsSecretConfig(name: string): Json {
  return {
    name,
    sds_config: {
      api_config_source: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      initial_fetch_timeout: '0s',
      resource_api_version: 'V3',
    },
  };
}
