// Fills the core's request view (layout in assembly/abi.ts) from the serialized header map
// Envoy returns (proxy_get_header_map_pairs), pointing every span into that block: no copy.
// Pseudo-headers give the method, path and authority; the rest become header entries.
import {
  RV_METHOD_PTR, RV_METHOD_LEN, RV_PATH_PTR, RV_PATH_LEN, RV_AUTHORITY_PTR, RV_AUTHORITY_LEN,
  RV_HEADER_COUNT, RV_BYTES_USED, RV_HEADERS, RV_HEADER_ENTRY, RV_BYTES, REQ_MAX_HEADERS,
} from '../../assembly/abi';
import { bytesEqual } from '../../assembly/route/bytes';

const COLON: u32 = 0x3a;

let view: usize = 0;

/**
 * The view this module's matcher calls read: only the fixed part (fields and header entries)
 * is allocated, since spans point into the header block instead of a byte area.
 */
export function requestView(): usize {
  if (view == 0) {
    view = heap.alloc(<usize>RV_BYTES);
    memory.fill(view, 0, <usize>RV_BYTES);
  }
  return view;
}

// The pseudo-headers read, as static bytes.
const METHOD = memory.data<u8>([0x3a, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64]); // ":method"
const PATH = memory.data<u8>([0x3a, 0x70, 0x61, 0x74, 0x68]); // ":path"
const AUTHORITY = memory.data<u8>([0x3a, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x74, 0x79]); // ":authority"

/**
 * Fills the view at `rv` from serialized pairs (`block`, `size` bytes). Returns false when the
 * block is malformed (counts or lengths that run past its end). Headers past REQ_MAX_HEADERS
 * are not given to the matcher (Envoy admits 100 by default).
 */
export function fillRequestView(rv: usize, block: usize, size: usize): bool {
  store<u32>(rv + RV_METHOD_LEN, 0);
  store<u32>(rv + RV_PATH_LEN, 0);
  store<u32>(rv + RV_AUTHORITY_LEN, 0);
  store<u32>(rv + RV_METHOD_PTR, <u32>block);
  store<u32>(rv + RV_PATH_PTR, <u32>block);
  store<u32>(rv + RV_AUTHORITY_PTR, <u32>block);
  store<u32>(rv + RV_HEADER_COUNT, 0);
  store<u32>(rv + RV_BYTES_USED, 0);
  if (size < 4) return size == 0 || (size == 1 && load<u8>(block) == 0);
  const count = <usize>load<u32>(block);
  // The sizes table alone must fit: count × 8 bytes after the count.
  if (count > (size - 4) / 8) return false;
  const end = block + size;
  let sizes = block + 4;
  let data = sizes + count * 8;
  let headers: u32 = 0;
  for (let i: usize = 0; i < count; i++, sizes += 8) {
    const klen = <usize>load<u32>(sizes);
    const vlen = <usize>load<u32>(sizes + 4);
    const key = data;
    // key, NUL, value, NUL must lie inside the block.
    if (klen > end - key || vlen + 2 > end - key - klen) return false;
    const value = key + klen + 1;
    data = value + vlen + 1;
    if (klen > 0 && <u32>load<u8>(key) == COLON) {
      if (klen == 10 && bytesEqual(key, AUTHORITY, 10)) {
        store<u32>(rv + RV_AUTHORITY_PTR, <u32>value);
        store<u32>(rv + RV_AUTHORITY_LEN, <u32>vlen);
      } else if (klen == 5 && bytesEqual(key, PATH, 5)) {
        store<u32>(rv + RV_PATH_PTR, <u32>value);
        store<u32>(rv + RV_PATH_LEN, <u32>vlen);
      } else if (klen == 7 && bytesEqual(key, METHOD, 7)) {
        store<u32>(rv + RV_METHOD_PTR, <u32>value);
        store<u32>(rv + RV_METHOD_LEN, <u32>vlen);
      }
      continue;
    }
    if (headers >= REQ_MAX_HEADERS) continue;
    // Envoy hands header names lower-case (HTTP/1 and HTTP/2 codecs both normalise them),
    // which is what the core's header conditions expect.
    const e = rv + RV_HEADERS + <usize>headers * RV_HEADER_ENTRY;
    store<u32>(e, <u32>key);
    store<u32>(e + 4, <u32>klen);
    store<u32>(e + 8, <u32>value);
    store<u32>(e + 12, <u32>vlen);
    headers++;
  }
  store<u32>(rv + RV_HEADER_COUNT, headers);
  return true;
}
