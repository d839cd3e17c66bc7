// Foreign functions (spec: "Foreign function interface"): host extensions called by name.
// Envoy registers `clear_route_cache` among them.
import { outA, outB, readA } from './out';

// proxy_call_foreign_function(name_data, name_size, arguments_data, arguments_size,
//   return_results_data, return_results_size) → status
// OK; NOT_FOUND (no such function); INVALID_MEMORY_ACCESS.
@external("env", "proxy_call_foreign_function")
declare function proxy_call_foreign_function(name: usize, nameSize: usize, args: usize, argsSize: usize, returnData: usize, returnSize: usize): u32;

/** Calls foreign function `name` with the given arguments; results (if any) are freed here. */
export function callForeignFunction(name: usize, nameSize: usize, args: usize, argsSize: usize): u32 {
  store<u32>(outA(), 0);
  store<u32>(outB(), 0);
  const status = proxy_call_foreign_function(name, nameSize, args, argsSize, outA(), outB());
  const results = <usize>readA();
  if (results != 0) heap.free(results);
  return status;
}
