// The core's side of the AS↔TS boundary: memory management exports and the fixed layout of
// the request view that the host fills and the matcher and head writer read. Only numbers
// cross the boundary; every offset below is an absolute address in linear memory.

/** Bytes reserved for one request view's string bytes (method, path, authority, headers). */
export const REQ_BYTES_CAPACITY: u32 = 96 * 1024;
/** Header entries a request view can hold (Envoy's default max_headers_count is 100). */
export const REQ_MAX_HEADERS: u32 = 128;

// RequestView layout (all u32, little-endian), at the address req_view() returns:
//   +0  methodPtr     +4  methodLen
//   +8  pathPtr       +12 pathLen      (path = request-target as sent: path + query)
//   +16 authorityPtr  +20 authorityLen (Host header / :authority, as sent)
//   +24 headerCount   +28 bytesUsed    (bytes of the byte area in use; host bookkeeping)
//   +32 header entries, REQ_MAX_HEADERS × 16 bytes: namePtr, nameLen, valuePtr, valueLen
//       (names lower-case ASCII; values as received)
//   then the byte area, REQ_BYTES_CAPACITY bytes, where the pointers above point.
export const RV_METHOD_PTR: u32 = 0;
export const RV_METHOD_LEN: u32 = 4;
export const RV_PATH_PTR: u32 = 8;
export const RV_PATH_LEN: u32 = 12;
export const RV_AUTHORITY_PTR: u32 = 16;
export const RV_AUTHORITY_LEN: u32 = 20;
export const RV_HEADER_COUNT: u32 = 24;
export const RV_BYTES_USED: u32 = 28;
export const RV_HEADERS: u32 = 32;
export const RV_HEADER_ENTRY: u32 = 16;
export const RV_BYTES: u32 = RV_HEADERS + REQ_MAX_HEADERS * RV_HEADER_ENTRY;
export const RV_SIZE: u32 = RV_BYTES + REQ_BYTES_CAPACITY;

let reqView: usize = 0;

/** Allocates `size` bytes of linear memory for the host (tables, scratch regions). */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Frees a block that `alloc` returned. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** The address of the request view (allocated on first use, then reused for every request). */
export function req_view(): usize {
  if (reqView == 0) {
    reqView = heap.alloc(<usize>RV_SIZE);
    memory.fill(reqView, 0, <usize>RV_BYTES);
  }
  return reqView;
}

/** Layout constants, so that the host can check at load time that both sides agree. */
export function abi_layout(which: i32): u32 {
  switch (which) {
    case 0: return RV_SIZE;
    case 1: return RV_BYTES;
    case 2: return REQ_MAX_HEADERS;
    case 3: return REQ_BYTES_CAPACITY;
    default: return 0;
  }
}
