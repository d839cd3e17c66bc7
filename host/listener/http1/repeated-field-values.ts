// Field values that arrive byte for byte the same on request after request (Istio's peer
// metadata: a mesh peer sends the same `x-envoy-peer-metadata`, ~360 characters of base64, and
// the same `x-envoy-peer-metadata-id` on every request). Decoding them is a fresh string per
// request, garbage the moment the filter has looked it up; here the last value of each such
// field is kept with its bytes, and a request whose bytes match gets the kept string (no
// allocation; and the same string object, whose hash V8 has already computed, for the peer cache's
// Map). One slot per field: a proxy talking to several peers alternates, and then decodes as before.
const MAX_VALUE = 4096;

export interface Slot {
  bytes: Buffer | null;
  value: string;
}

export class RepeatedFieldValues {
  readonly #slots = new Map<string, Slot>();

  /** `names`: the lower-case field names whose values repeat. */
  constructor(names: readonly string[]) {
    for (const n of names) this.#slots.set(n, { bytes: null, value: '' });
  }

  /** The slot of a lower-case field name, or undefined when its values are not kept. */
  slotOf(name: string): Slot | undefined {
    return this.#slots.get(name);
  }

  /** The value in `mem[start, end)` as a latin1 string: the kept one when the bytes are the same. */
  static value(slot: Slot, mem: Buffer, start: number, end: number): string {
    const len = end - start;
    const kept = slot.bytes;
    if (kept !== null && kept.length === len && kept.compare(mem, start, end) === 0) return slot.value;
    const value = mem.toString('latin1', start, end);
    if (len <= MAX_VALUE) {
      const copy = kept !== null && kept.length === len ? kept : Buffer.allocUnsafeSlow(len);
      mem.copy(copy, 0, start, end);
      slot.bytes = copy;
      slot.value = value;
    }
    return value;
  }
}
