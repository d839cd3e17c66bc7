// Decoded HPACK names and values as JS strings, with the short ones that repeat request after
// request (:path, :authority, content-type, te, user-agent, grpc-status, grpc-message …) handed
// out again instead of made anew: a request or response head is read into strings for the HTTP
// layer (issue 15), and most of its fields are byte-for-byte those of the previous one on the
// connection. One string per field was the largest allocation per gRPC call in the proxy's heap
// profile; a repeated one now costs a hash and a compare over its bytes, and no allocation.
//
// The table is direct-mapped (a slot per hash, the newest string wins): bounded memory, nothing
// to evict, and a string is returned only when its bytes equal the span's, so a collision costs
// an allocation, never a wrong field. Module-wide: strings are immutable and the thread is one.

/** Longer strings are made each time (rarely repeated: ids, tokens, cookies). */
export const INTERN_MAX_LENGTH = 64;
const SLOTS = 1024; // a power of two
const table: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);

/** The latin1 string of `u8[ptr, ptr + len)`; `mem` is a Buffer over the same memory (for the slow path). */
export function fieldString(u8: Uint8Array, mem: Buffer, ptr: number, len: number): string {
  if (len > INTERN_MAX_LENGTH) return mem.toString('latin1', ptr, ptr + len);
  let h = len | 0;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ u8[ptr + i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SLOTS - 1);
  const s = table[slot];
  if (s !== undefined && s.length === len) {
    let i = 0;
    while (i < len && s.charCodeAt(i) === u8[ptr + i]) i++;
    if (i === len) return s;
  }
  const fresh = mem.toString('latin1', ptr, ptr + len);
  table[slot] = fresh;
  return fresh;
}
