// gRPC message counts of the stream being logged, as Istio's stats filter takes them: from the
// filter state Envoy's grpc_stats filter leaves when `emit_filter_state` is on (the control plane
// puts that filter before wasmesh_stats). The state exists only for a gRPC request (grpc_stats
// ignores others), so its presence also says the request is gRPC. Its value is the
// FilterObject protobuf (envoy.extensions.filters.http.grpc_stats.v3): request_message_count = 1,
// response_message_count = 2, both uint64 varints; read without a codec.
import { Status } from '../abi/abi-types';
import { getProperty, propertyData, propertySize } from '../abi/properties';
import { ascii } from '../common/ascii';

const P_GRPC_STATS = ascii('filter_state\0envoy.filters.http.grpc_stats');

let requestMessages: u64 = 0;
let responseMessages: u64 = 0;

/** Reads the stream's grpc_stats filter state; false (counts 0) when there is none: not a gRPC request. */
export function grpcMessageCounts(): bool {
  requestMessages = 0;
  responseMessages = 0;
  if (getProperty(P_GRPC_STATS.ptr, P_GRPC_STATS.len) != Status.Ok) return false;
  const p = propertyData();
  const n = propertySize();
  let i: usize = 0;
  // Fields in any order; an unknown or malformed field ends the read with what was found.
  while (i < n) {
    const key = load<u8>(p + i++);
    if ((key & 7) != 0) break; // only varints are expected
    let v: u64 = 0;
    let shift: u64 = 0;
    let ok = false;
    while (i < n && shift < 64) {
      const b = load<u8>(p + i++);
      v |= <u64>(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0) {
        ok = true;
        break;
      }
    }
    if (!ok) break;
    if (key >> 3 == 1) requestMessages = v;
    else if (key >> 3 == 2) responseMessages = v;
  }
  if (p != 0) heap.free(p);
  return true;
}

export function grpcRequestMessages(): u64 {
  return requestMessages;
}

export function grpcResponseMessages(): u64 {
  return responseMessages;
}
