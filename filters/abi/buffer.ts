// Buffers (spec: "Buffers"): plugin configuration and bodies are read with
// proxy_get_buffer_bytes into a block the module allocates and the caller frees.
import { BufferType, Status } from './abi-types';
import { outA, outB, readA, readB } from './out';

// proxy_get_buffer_bytes(buffer_id, start, max_size, return_value_data, return_value_size) → status
// OK; BAD_ARGUMENT (unknown buffer, bad start/max_size); NOT_FOUND (buffer not available here);
// INVALID_MEMORY_ACCESS.
@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(buffer: u32, start: usize, maxSize: usize, returnData: usize, returnSize: usize): u32;

let bufData: usize = 0;
let bufSize: usize = 0;

/**
 * Reads up to `maxSize` bytes of `buffer` from `start`. On Ok, bufferData()/bufferSize() give
 * the block (owned by the caller: heap.free it; 0/0 when the buffer is empty).
 */
export function getBufferBytes(buffer: BufferType, start: usize, maxSize: usize): u32 {
  store<u32>(outA(), 0);
  store<u32>(outB(), 0);
  const status = proxy_get_buffer_bytes(<u32>buffer, start, maxSize, outA(), outB());
  bufData = status == Status.Ok ? <usize>readA() : 0;
  bufSize = status == Status.Ok ? <usize>readB() : 0;
  return status;
}

/** The block the last successful getBufferBytes returned (0 when empty). */
export function bufferData(): usize {
  return bufData;
}

/** Its size in bytes. */
export function bufferSize(): usize {
  return bufSize;
}

// proxy_set_buffer_bytes(buffer_id, start, size, buffer_data, buffer_size) → status
// OK; BAD_ARGUMENT (unknown buffer, or a start inside it other than 0); NOT_FOUND (buffer not
// available here). Envoy 1.40 on a network filter's data: start 0 drains `size` bytes and
// prepends the data; a start at or past the end appends it.
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(buffer: u32, start: usize, size: usize, data: usize, dataSize: usize): u32;

/** Replaces the first `size` bytes of `buffer` by the `dataSize` bytes at `data` (size 0: prepends; dataSize 0: drains). */
export function replaceBufferHead(buffer: BufferType, size: usize, data: usize, dataSize: usize): u32 {
  return proxy_set_buffer_bytes(<u32>buffer, 0, size, data, dataSize);
}
