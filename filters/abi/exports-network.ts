// The callbacks of a network (L4) filter's connections, exported only by the module whose
// filter runs under envoy.filters.network.wasm (wasmesh-stats.ts): Envoy calls them for network
// filter contexts only, so the module's HTTP streams pay nothing for them.
import { connectionClose, connectionData, newConnection } from './context';

/** proxy_on_new_connection(context_id) → proxy_action_t. */
export function proxy_on_new_connection(connId: u32): u32 {
  return <u32>newConnection(connId);
}

/** proxy_on_downstream_data(context_id, data_size, end_of_stream) → proxy_action_t. */
export function proxy_on_downstream_data(connId: u32, size: usize, endOfStream: u32): u32 {
  return <u32>connectionData(connId, false, size, endOfStream != 0);
}

/** proxy_on_upstream_data(context_id, data_size, end_of_stream) → proxy_action_t. */
export function proxy_on_upstream_data(connId: u32, size: usize, endOfStream: u32): u32 {
  return <u32>connectionData(connId, true, size, endOfStream != 0);
}

/** proxy_on_downstream_connection_close(context_id, peer_type). */
export function proxy_on_downstream_connection_close(connId: u32, peerType: u32): void {
  connectionClose(connId, false, peerType);
}

/** proxy_on_upstream_connection_close(context_id, peer_type). */
export function proxy_on_upstream_connection_close(connId: u32, peerType: u32): void {
  connectionClose(connId, true, peerType);
}
