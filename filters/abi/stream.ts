// Stream control (spec: "Context lifecycle", "Common stream operations", "HTTP"): resume a
// paused stream, answer locally, and switch the effective context from a root callback.
import { StreamType } from './abi-types';

// proxy_set_effective_context(context_id) → status
// OK; BAD_ARGUMENT for an unknown context (e.g. a stream that has ended).
@external("env", "proxy_set_effective_context")
declare function proxy_set_effective_context(contextId: u32): u32;

export function setEffectiveContext(contextId: u32): u32 {
  return proxy_set_effective_context(contextId);
}

// proxy_continue_stream(stream_type) → status
// OK; BAD_ARGUMENT (unknown stream type); UNIMPLEMENTED.
@external("env", "proxy_continue_stream")
declare function proxy_continue_stream(stream: u32): u32;

export function continueStream(stream: StreamType): u32 {
  return proxy_continue_stream(<u32>stream);
}

// proxy_close_stream(stream_type) → status
// OK; BAD_ARGUMENT.
@external("env", "proxy_close_stream")
declare function proxy_close_stream(stream: u32): u32;

export function closeStream(stream: StreamType): u32 {
  return proxy_close_stream(<u32>stream);
}

// proxy_send_local_response(status_code, status_code_details_data, status_code_details_size,
//   body_data, body_size, serialized_headers_data, serialized_headers_size, grpc_status) → status
// OK; INVALID_MEMORY_ACCESS. grpc_status -1 (0xffffffff) = not a gRPC response.
@external("env", "proxy_send_local_response")
declare function proxy_send_local_response(code: u32, details: usize, detailsSize: usize, body: usize, bodySize: usize, headers: usize, headersSize: usize, grpcStatus: i32): u32;

/** Sends a local response with no extra headers; `details` appears in Envoy's access log. */
export function sendLocalResponse(code: u32, details: usize, detailsSize: usize, body: usize, bodySize: usize): u32 {
  return proxy_send_local_response(code, details, detailsSize, body, bodySize, 0, 0, -1);
}
