// Properties (spec: "Properties"; implementation-dependent): used once per root context to
// read Envoy's `plugin_root_id`, which selects the filter a root context runs.
import { Status } from './abi-types';
import { outA, outB, readA, readB } from './out';

// proxy_get_property(path_data, path_size, return_value_data, return_value_size) → status
// OK; NOT_FOUND; SERIALIZATION_FAILURE; INVALID_MEMORY_ACCESS. A path is its segments, each
// followed by a NUL byte.
@external("env", "proxy_get_property")
declare function proxy_get_property(path: usize, pathSize: usize, returnData: usize, returnSize: usize): u32;

let propData: usize = 0;
let propSize: usize = 0;

/** Reads a property; on Ok, propertyData()/propertySize() give a block the caller frees. */
export function getProperty(path: usize, pathSize: usize): u32 {
  store<u32>(outA(), 0);
  store<u32>(outB(), 0);
  const status = proxy_get_property(path, pathSize, outA(), outB());
  propData = status == Status.Ok ? <usize>readA() : 0;
  propSize = status == Status.Ok ? <usize>readB() : 0;
  return status;
}

export function propertyData(): usize {
  return propData;
}

export function propertySize(): usize {
  return propSize;
}
