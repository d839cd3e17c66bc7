// Network (TCP) filter contexts (spec: "TCP/UDP/QUIC stream (L4) extensions"): the callbacks of
// one downstream connection under envoy.filters.network.wasm, with no-op defaults. Like
// HttpContext, handlers are singletons keyed by the connection's context id; a filter registers
// one with registerNetworkFilter (context.ts).
import { Action } from './abi-types';

export class NetworkContext {
  /** proxy_on_new_connection: the downstream connection is accepted. */
  onNewConnection(connId: u32, rootId: u32): Action {
    return Action.Continue;
  }

  /** proxy_on_downstream_data: `size` new bytes from the downstream (client). */
  onDownstreamData(connId: u32, rootId: u32, size: usize, endOfStream: bool): Action {
    return Action.Continue;
  }

  /** proxy_on_upstream_data: `size` new bytes from the upstream (server). */
  onUpstreamData(connId: u32, rootId: u32, size: usize, endOfStream: bool): Action {
    return Action.Continue;
  }

  /** proxy_on_downstream_connection_close / proxy_on_upstream_connection_close (peer_type: 0 unknown, 1 local, 2 remote). */
  onClose(connId: u32, rootId: u32, upstream: bool, peerType: u32): void {}

  /** proxy_on_log: the connection is done (Envoy's access-log point). */
  onLog(connId: u32, rootId: u32): void {}

  /** proxy_on_delete of the connection's context. */
  onDelete(connId: u32, rootId: u32): void {}
}
