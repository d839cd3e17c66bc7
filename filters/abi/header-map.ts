// HTTP fields (spec: "HTTP fields"): read the whole request header map in one call (the
// serialized pairs format below) and edit single headers by name.
import { MapType, Status } from './abi-types';
import { outA, outB, readA, readB } from './out';

// proxy_get_header_map_pairs(map_id, return_serialized_pairs_data, return_serialized_pairs_size) → status
// OK; BAD_ARGUMENT (unknown map); INVALID_MEMORY_ACCESS.
// Serialized pairs: u32 count, then count × (u32 keyLen, u32 valueLen), then each key and value
// followed by one NUL byte. An empty map is size 0 or the single byte 0.
@external("env", "proxy_get_header_map_pairs")
declare function proxy_get_header_map_pairs(map: u32, returnData: usize, returnSize: usize): u32;

let pairsData: usize = 0;
let pairsSize: usize = 0;

/**
 * Fetches all pairs of `map`. On Ok, pairsBlock()/pairsBlockSize() give the serialized block
 * (owned by the caller: heap.free it when done; 0 when the host returned nothing).
 */
export function getHeaderMapPairs(map: MapType): u32 {
  store<u32>(outA(), 0);
  store<u32>(outB(), 0);
  const status = proxy_get_header_map_pairs(<u32>map, outA(), outB());
  pairsData = status == Status.Ok ? <usize>readA() : 0;
  pairsSize = status == Status.Ok ? <usize>readB() : 0;
  return status;
}

export function pairsBlock(): usize {
  return pairsData;
}

export function pairsBlockSize(): usize {
  return pairsSize;
}

// proxy_get_header_map_value(map_id, key_data, key_size, return_value_data, return_value_size) → status
// OK; BAD_ARGUMENT; NOT_FOUND (no such key); INVALID_MEMORY_ACCESS.
@external("env", "proxy_get_header_map_value")
declare function proxy_get_header_map_value(map: u32, key: usize, keySize: usize, returnData: usize, returnSize: usize): u32;

let valueData: usize = 0;
let valueSize: usize = 0;

/**
 * Looks up one header. On Ok, valueBlock()/valueBlockSize() give the value (a block owned by
 * the caller: heap.free it; may be 0 for an empty value).
 */
export function getHeaderMapValue(map: MapType, key: usize, keySize: usize): u32 {
  store<u32>(outA(), 0);
  store<u32>(outB(), 0);
  const status = proxy_get_header_map_value(<u32>map, key, keySize, outA(), outB());
  valueData = status == Status.Ok ? <usize>readA() : 0;
  valueSize = status == Status.Ok ? <usize>readB() : 0;
  return status;
}

export function valueBlock(): usize {
  return valueData;
}

export function valueBlockSize(): usize {
  return valueSize;
}

// proxy_replace_header_map_value(map_id, key_data, key_size, value_data, value_size) → status
// Adds or replaces the key's value. OK; BAD_ARGUMENT; INVALID_MEMORY_ACCESS.
@external("env", "proxy_replace_header_map_value")
declare function proxy_replace_header_map_value(map: u32, key: usize, keySize: usize, value: usize, valueSize: usize): u32;

export function replaceHeaderMapValue(map: MapType, key: usize, keySize: usize, value: usize, size: usize): u32 {
  return proxy_replace_header_map_value(<u32>map, key, keySize, value, size);
}

// proxy_remove_header_map_value(map_id, key_data, key_size) → status
// OK (also when the key did not exist); BAD_ARGUMENT; INVALID_MEMORY_ACCESS.
@external("env", "proxy_remove_header_map_value")
declare function proxy_remove_header_map_value(map: u32, key: usize, keySize: usize): u32;

export function removeHeaderMapValue(map: MapType, key: usize, keySize: usize): u32 {
  return proxy_remove_header_map_value(<u32>map, key, keySize);
}
