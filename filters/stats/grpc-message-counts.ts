// gRPC message counts of the stream being logged, as Istio's stats filter takes them: from the
// filter state Envoy's grpc_stats filter leaves when `emit_filter_state` is on (the control plane
// puts that filter before wasmesh_stats). The state exists only for a gRPC request (grpc_stats
// ignores others), so its presence also says the request is gRPC. Read as a property
// (`filter_state.envoy.filters.http.grpc_stats`), Envoy gives the object's string form,
// `<request messages>,<response messages>` in decimal (checked against Envoy 1.40: "2,4" for a
// stream of 2 messages answered by 4); anything else counts as 0 messages, still gRPC.
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
  let req: u64 = 0;
  let resp: u64 = 0;
  let comma = false;
  let digits: u32 = 0;
  let ok = n >= 3;
  for (let i: usize = 0; i < n && ok; i++) {
    const c = load<u8>(p + i);
    if (c == 0x2c && !comma && digits > 0) {
      comma = true;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 19) {
      digits++;
      if (comma) resp = resp * 10 + <u64>(c - 0x30);
      else req = req * 10 + <u64>(c - 0x30);
    } else ok = false;
  }
  if (ok && comma && digits > 0) {
    requestMessages = req;
    responseMessages = resp;
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
