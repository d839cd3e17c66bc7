// The connection manager's WebSocket upgrade settings, as one place for every HCM the translation
// writes (the mesh's and a gateway's listener, a sidecar's virtualInbound): Istio's
// `upgrade_configs: websocket` on every route, plus what makes WebSocket over HTTP/2 (RFC 8441)
// work the way wasmesh carries it:
//   - `http2_protocol_options.allow_connect`: an HTTP/2 client's extended CONNECT (:protocol
//     websocket) is taken as that upgrade (SETTINGS_ENABLE_CONNECT_PROTOCOL advertised); Envoy
//     turns it into an HTTP/1.1 Upgrade for an HTTP/1.1 upstream;
//   - RFC 8441 drops Sec-WebSocket-Key, which an HTTP/1.1 WebSocket server requires: wasmesh
//     makes one up (host/http/upgrade-tunnel.ts); Envoy does not, so the upgrade's own filter chain
//     (the listener's filters, then `header_mutation` adding a key when the request has none,
//     then the router) supplies one. The key is constant (any 16 bytes base64 satisfy a server;
//     wasmesh's are random per upgrade).
// An upgrade to an HTTP/2 cluster goes upstream as an extended CONNECT with nothing more set
// (Envoy's HTTP/2 client codec does it; test/interop/websocket-planes.test.ts checks it). Envoy
// passes the upstream's answer on as it is: an HTTP/1.1 client needs the upstream to send
// Sec-WebSocket-Accept (another proxy hop in front of an HTTP/1.1 server does; a native RFC 8441
// server does not, and wasmesh then computes the accept from the client's key).
import type { Obj } from './istio-resources.js';

/** 16 bytes, base64 (RFC 6455 §4.1): what the HTTP/1.1 server hashes into its Sec-WebSocket-Accept. */
export const RFC8441_WEBSOCKET_KEY = 'd2FzbWVzaC1yZmM4NDQxIQ==';

const ADD_KEY_IF_ABSENT: Obj = {
  name: 'envoy.filters.http.header_mutation',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
    mutations: { request_mutations: [{ append: { header: { key: 'sec-websocket-key', value: RFC8441_WEBSOCKET_KEY }, append_action: 'ADD_IF_ABSENT' } }] },
  },
};

/**
 * The HCM fields for WebSocket: `upgrade_configs` (with its own filter chain: `httpFilters`, the
 * listener's, ending in the router, with the key filter before the router) and
 * `http2_protocol_options.allow_connect`.
 */
export function websocketUpgradeFields(httpFilters: readonly Obj[]): Obj {
  const router = httpFilters[httpFilters.length - 1];
  const before = httpFilters.slice(0, -1);
  return {
    upgrade_configs: [{ upgrade_type: 'websocket', filters: [...before, ADD_KEY_IF_ABSENT, ...(router === undefined ? [] : [router])] }],
    http2_protocol_options: { allow_connect: true },
  };
}
