// Envoy's data-plane API: the .proto files that ship inside @grpc/grpc-js-xds (deps/envoy-api,
// xds, googleapis, protoc-gen-validate), loaded once per process into a protobufjs Root. Every
// xDS message and resource wasmesh sends or reads is encoded and decoded by protobufjs from
// these definitions: no message is written by hand.
import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/** The files whose messages wasmesh uses (their imports load with them). */
const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  // Gateway TCP servers and VirtualService tcp: routes (host/envoy/tcp-proxy-listeners.ts).
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  // The WebSocket upgrade chain's Sec-WebSocket-Key for RFC 8441 clients (host/envoy/websocket-upgrade.ts).
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/wasm/v3/wasm.proto',
  // gRPC message counts for the wasmesh_stats filter (host/envoy/filters-bootstrap.ts GRPC_STATS_FILTER).
  'envoy/extensions/filters/http/grpc_stats/v3/config.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  // /dev/stdout and /dev/stderr access logs (host/envoy/access-log-config.ts).
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/config/trace/v3/zipkin.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  // SDS: the Secret resource and the TLS contexts that name secrets (host/xds/sds-secrets.ts).
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  // A sidecar's PERMISSIVE inbound tells TLS from plaintext (host/envoy/inbound-listener.ts).
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  // An Envoy sidecar's virtualOutbound (use_original_dst) and its sniffing listeners (host/envoy/sidecar-outbound-listeners.ts).
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  // Gateway TLS passthrough ports: filter chains by SNI ending in tcp_proxy (host/envoy/tls-passthrough-listener.ts).
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  // AuthorizationPolicy as Envoy's RBAC filter, path templates as its URI template matcher (host/envoy/rbac-policy.ts).
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  // ... and on the inbound passthrough's TCP chains, its network filter (host/envoy/rbac-network-policy.ts).
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/path/match/uri_template/v3/uri_template_match.proto',
  // TypedStruct: the wasm filter's configuration as JSON (host/envoy/xds-resources.ts says why).
  'xds/type/v3/typed_struct.proto',
  // The rate limit service a RateLimitPolicy's global rules ask (host/xds/rate-limit-client.ts).
  'envoy/service/ratelimit/v3/rls.proto',
  // The external authorizer an AuthorizationPolicy CUSTOM asks (host/upstream/ext-authz/).
  'envoy/service/auth/v3/external_auth.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/struct.proto',
];

/** Type URLs of the resources wasmesh serves over ADS. */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

/**
 * The folders the .proto files are resolved in: those inside the installed @grpc/grpc-js-xds,
 * then protobufjs's own copy of google/protobuf/descriptor.proto (which those deps leave out).
 */
export function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbjs = dirname(require.resolve('protobufjs/package.json'));
  return [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, 'deps', d)), pbjs];
}

let loaded: protobuf.Root | null = null;

/** The Root with Envoy's API (loaded on first use, ~150 ms; field names as in the .proto files). */
export function envoyProtos(): protobuf.Root {
  if (loaded) return loaded;
  const dirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      const p = join(d, target);
      try {
        accessSync(p);
        return p;
      } catch {
        // next folder
      }
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: true });
  root.resolveAll();
  loaded = root;
  return root;
}

/** The message type for a type URL (`type.googleapis.com/<full name>`), or null when unknown. */
export function typeOfUrl(root: protobuf.Root, typeUrl: string): protobuf.Type | null {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return root.lookupType(name);
  } catch {
    return null;
  }
}
