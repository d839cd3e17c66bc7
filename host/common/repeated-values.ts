// Field values that arrive byte for byte the same on request after request (Istio's peer
// metadata: a mesh peer sends the same `x-envoy-peer-metadata`, ~360 characters of base64, and
// the same `x-envoy-peer-metadata-id` on every request and response). Decoding them is a fresh
// string each time, garbage the moment it has been looked up; here the last value of each such
// field is kept with its bytes, and bytes that match give back the kept string: no allocation,
// and the same string object, whose hash V8 has already computed, for a Map keyed by it (the peer
// cache). One slot per field name: a proxy whose peers alternate decodes as before.

/** Values longer than this are decoded every time and never kept. */
const MAX_VALUE = 4096;
/** Field names with a slot, at most (the callers name a fixed few). */
const MAX_NAMES = 16;

export interface ValueSlot {
  bytes: Buffer | null;
  value: string;
}

export class RepeatedValues {
  readonly #slots = new Map<string, ValueSlot>();

  /** `names`: the field names (lower case) whose values repeat. */
  constructor(names: readonly string[] = []) {
    for (const n of names) this.#slots.set(n, { bytes: null, value: '' });
  }

  /** The slot of a field name, or undefined when its values are not kept. */
  slotOf(name: string): ValueSlot | undefined {
    return this.#slots.get(name);
  }

  /** The slot of a field name, made on first use (up to MAX_NAMES names; then undefined). */
  slotFor(name: string): ValueSlot | undefined {
    let s = this.#slots.get(name);
    if (s === undefined && this.#slots.size < MAX_NAMES) this.#slots.set(name, (s = { bytes: null, value: '' }));
    return s;
  }

  /** The bytes `mem[start, end)` as a latin1 string: the kept one when they are the same bytes. */
  static value(slot: ValueSlot, mem: Uint8Array, start: number, end: number): string {
    const len = end - start;
    const kept = slot.bytes;
    if (kept !== null && kept.length === len && kept.compare(mem, start, end) === 0) return slot.value;
    const buf = Buffer.isBuffer(mem) ? mem : Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
    const value = buf.toString('latin1', start, end);
    if (len <= MAX_VALUE) {
      const copy = kept !== null && kept.length === len ? kept : Buffer.allocUnsafeSlow(len);
      buf.copy(copy, 0, start, end);
      slot.bytes = copy;
      slot.value = value;
    }
    return value;
  }
}
