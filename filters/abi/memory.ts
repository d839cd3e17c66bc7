// Memory management (spec: "Memory management"): the host asks the module for memory when it
// returns data (header maps, buffers, properties); the caller of that host function owns the
// block and frees it with heap.free.

/**
 * proxy_on_memory_allocate(memory_size) → memory_data; 0 means failure.
 * Blocks come from the TLSF heap (runtime "minimal"): 16-byte aligned, so a route table handed
 * over as plugin configuration can be read in place.
 */
export function proxy_on_memory_allocate(size: usize): usize {
  // heap.alloc aborts (and traps) rather than return 0 when the heap cannot grow; Envoy then
  // fails the calling host function, which is the spec's failure outcome as well.
  return heap.alloc(size);
}
