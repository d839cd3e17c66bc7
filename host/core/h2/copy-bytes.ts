// A span of bytes copied between two arrays without making a view of the source for a short one
// (a subarray is an object per call; a header block or a gRPC message is tens of bytes). The
// frame batch copies payloads and header blocks into its buffer with it, the frame scanner DATA
// payloads out of Wasm memory.

/** A span up to this long is copied by a loop; a longer one by set() over a view. */
const LOOP_MAX = 128;

/** `src[from, to)` into `dst` at `at`. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, to: number): void {
  if (to - from > LOOP_MAX) {
    dst.set(src.subarray(from, to), at);
    return;
  }
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}
