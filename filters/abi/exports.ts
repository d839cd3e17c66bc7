// The callbacks this module exports to the host (spec: "Callbacks exposed by the Wasm
// module"). Only callbacks some filter needs are exported: the host skips missing ones, and
// each exported per-stream callback costs a VM call on every request.
import { configure, contextCreate, deleteContext, requestHeaders, tick, vmStart } from './context';

export { proxy_on_memory_allocate } from './memory';

/** Marks the module as built against proxy-wasm ABI v0.2.1; never called. */
export function proxy_abi_version_0_2_1(): void {}

/** proxy_on_context_create(context_id, parent_context_id): parent 0 = a root context. */
export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  contextCreate(contextId, parentId);
}

/** proxy_on_vm_start(plugin_context_id, vm_configuration_size) → bool. */
export function proxy_on_vm_start(rootId: u32, size: usize): u32 {
  return vmStart(rootId, size) ? 1 : 0;
}

/** proxy_on_configure(plugin_context_id, plugin_configuration_size) → bool; false fails the plugin. */
export function proxy_on_configure(rootId: u32, size: usize): u32 {
  return configure(rootId, size) ? 1 : 0;
}

/** proxy_on_tick(plugin_context_id). */
export function proxy_on_tick(rootId: u32): void {
  tick(rootId);
}

/** proxy_on_request_headers(stream_context_id, num_headers, end_of_stream) → proxy_action_t. */
export function proxy_on_request_headers(streamId: u32, headerCount: u32, endOfStream: u32): u32 {
  return <u32>requestHeaders(streamId, headerCount, endOfStream != 0);
}

/** proxy_on_delete(context_id): the host removed a root or stream context. */
export function proxy_on_delete(contextId: u32): void {
  deleteContext(contextId);
}
