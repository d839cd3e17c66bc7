// A reusable region of linear memory for the codec's inputs and outputs: grown in 4 KiB steps,
// filled with one Uint8Array.set, so a parse or a write allocates nothing once warm.
import type { Core } from '../wasm.js';
import type { CodecExports } from './codec-layout.js';

export const REGION_STEP = 4096;

/** A reusable region of linear memory, grown in 4 KiB steps; holds `length` bytes. */
export class InputRegion {
  readonly #core: Core;
  readonly #e: CodecExports;
  ptr = 0;
  capacity = 0;
  length = 0;

  constructor(core: Core, e: CodecExports) {
    this.#core = core;
    this.#e = e;
  }

  /** Makes room for `n` bytes in total, keeping the first `length` bytes. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const capacity = Math.ceil(n / REGION_STEP) * REGION_STEP;
    const ptr = this.#e.alloc(capacity);
    if (this.length > 0) {
      const u8 = this.#core.u8; // alloc may have grown memory: read the view after it
      u8.copyWithin(ptr, this.ptr, this.ptr + this.length);
    }
    if (this.ptr !== 0) this.#e.free(this.ptr);
    this.ptr = ptr;
    this.capacity = capacity;
  }

  /** Replaces the contents with `bytes`. */
  set(bytes: Uint8Array): void {
    this.length = 0;
    this.reserve(bytes.length);
    this.#core.u8.set(bytes, this.ptr);
    this.length = bytes.length;
  }

  /** Appends `bytes` after the current contents. */
  append(bytes: Uint8Array): void {
    this.reserve(this.length + bytes.length);
    this.#core.u8.set(bytes, this.ptr + this.length);
    this.length += bytes.length;
  }

  free(): void {
    if (this.ptr !== 0) this.#e.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
    this.length = 0;
  }
}
