// The callbacks of a stream's response and end, exported only by the module whose filter needs
// them (wasmesh-stats.ts): Envoy calls every exported per-stream callback of every Wasm filter
// context, so the router's module leaves them out and its requests pay no extra VM entries.
import { logStream, responseHeaders } from './context';

/** proxy_on_response_headers(stream_context_id, num_headers, end_of_stream) → proxy_action_t. */
export function proxy_on_response_headers(streamId: u32, headerCount: u32, endOfStream: u32): u32 {
  return <u32>responseHeaders(streamId, headerCount, endOfStream != 0);
}

/** proxy_on_log(stream_context_id): the stream is complete (Envoy's access-log point). */
export function proxy_on_log(streamId: u32): void {
  logStream(streamId);
}
