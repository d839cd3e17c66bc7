// A u32 → u32 hash map in linear memory for context ids (Envoy hands out increasing ids, one
// per stream): open addressing with linear probing and backward-shift deletion, so a stream's
// insert and delete allocate nothing in the steady state and leave no tombstones behind.

const EMPTY: u32 = 0; // context ids are never 0 (0 is "no parent" in proxy_on_context_create)
const SLOT: usize = 8; // u32 key, u32 value
const INITIAL_CAPACITY: u32 = 256;

export class ContextTable {
  private slots: usize = 0;
  private capacity: u32 = 0; // a power of two
  private count: u32 = 0;

  /** The value stored for `key`, or `missing` when there is none. */
  get(key: u32, missing: u32): u32 {
    if (this.count == 0) return missing;
    const mask = this.capacity - 1;
    let i = ContextTable.hash(key) & mask;
    while (true) {
      const k = load<u32>(this.slots + <usize>i * SLOT);
      if (k == key) return load<u32>(this.slots + <usize>i * SLOT + 4);
      if (k == EMPTY) return missing;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` for `key` (0 is not a valid key and is ignored). */
  set(key: u32, value: u32): void {
    if (key == EMPTY) return;
    // At most half full: probe runs stay short and always end at an empty slot.
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    const mask = this.capacity - 1;
    let i = ContextTable.hash(key) & mask;
    while (true) {
      const at = this.slots + <usize>i * SLOT;
      const k = load<u32>(at);
      if (k == key || k == EMPTY) {
        if (k == EMPTY) this.count++;
        store<u32>(at, key);
        store<u32>(at + 4, value);
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: u32): bool {
    if (this.count == 0 || key == EMPTY) return false;
    const mask = this.capacity - 1;
    let i = ContextTable.hash(key) & mask;
    while (true) {
      const k = load<u32>(this.slots + <usize>i * SLOT);
      if (k == EMPTY) return false;
      if (k == key) break;
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the same probe run into the hole, so lookups never
    // stop early at it.
    let hole = i;
    let j = (i + 1) & mask;
    while (true) {
      const at = this.slots + <usize>j * SLOT;
      const k = load<u32>(at);
      if (k == EMPTY) break;
      const home = ContextTable.hash(k) & mask;
      // Is `home` cyclically outside (hole, j]? Then the entry may move back into the hole.
      const distHome = (j - home) & mask;
      const distHole = (j - hole) & mask;
      if (distHome >= distHole) {
        const dst = this.slots + <usize>hole * SLOT;
        store<u64>(dst, load<u64>(at));
        hole = j;
      }
      j = (j + 1) & mask;
    }
    store<u64>(this.slots + <usize>hole * SLOT, 0);
    this.count--;
    return true;
  }

  get size(): u32 {
    return this.count;
  }

  private grow(): void {
    const oldSlots = this.slots;
    const oldCapacity = this.capacity;
    this.capacity = oldCapacity == 0 ? INITIAL_CAPACITY : oldCapacity * 2;
    this.slots = heap.alloc(<usize>this.capacity * SLOT);
    memory.fill(this.slots, 0, <usize>this.capacity * SLOT);
    this.count = 0;
    for (let i: u32 = 0; i < oldCapacity; i++) {
      const at = oldSlots + <usize>i * SLOT;
      const k = load<u32>(at);
      if (k != EMPTY) this.set(k, load<u32>(at + 4));
    }
    if (oldSlots != 0) heap.free(oldSlots);
  }

  /** Multiplying by an odd constant permutes ids modulo any power of two and spreads runs. */
  @inline private static hash(key: u32): u32 {
    return key * 0x9e3779b1;
  }
}
