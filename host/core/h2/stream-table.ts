// A connection's open HTTP/2 streams by id (both the core listener's and the core upstream
// pool's connections): open addressing with linear probing and backward-shift deletion, so that a
// stream opened and closed allocates nothing once the table has room for the connection's peak of
// open streams. A Map did the same job but allocated on the way: V8's ordered hash table leaves a
// hole per deleted entry and, once holes and entries fill it, rehashes into a new backing store —
// with ids only ever increasing, every few streams on a busy connection (issue 15: ~80 B per
// request on each side, under the listener's and the pool's stream objects).
//
// Ids are positive (stream 0 is the connection), so 0 marks an empty slot. The table doubles when
// more than half full and never shrinks: its size follows the peak of concurrent streams, which
// SETTINGS_MAX_CONCURRENT_STREAMS bounds.

/** Slots a new table starts with (a power of two). */
const INITIAL_SLOTS = 16;

export class StreamTable<T> {
  #ids: Uint32Array = new Uint32Array(INITIAL_SLOTS);
  #values: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Slots in use or free (for tests: the table grows to twice the peak of entries, never shrinks). */
  get capacity(): number {
    return this.#ids.length;
  }

  #slot(id: number): number {
    // Fibonacci hashing: consecutive odd (or even) ids spread over the slots.
    return (Math.imul(id, 0x9e3779b1) >>> 0) & this.#mask;
  }

  get(id: number): T | undefined {
    if (id <= 0) return undefined; // 0 marks an empty slot
    const ids = this.#ids;
    for (let i = this.#slot(id); ; i = (i + 1) & this.#mask) {
      const at = ids[i]!;
      if (at === id) return this.#values[i];
      if (at === 0) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds or replaces the entry of `id` (a positive stream id below 2^31). */
  set(id: number, value: T): void {
    if (!(id > 0 && id <= 0x7fffffff) || !Number.isInteger(id)) throw new RangeError(`StreamTable: a stream id is 1..2^31-1, got ${id}`);
    if ((this.#size + 1) * 2 > this.#ids.length) this.#grow();
    const ids = this.#ids;
    let i = this.#slot(id);
    for (; ids[i] !== 0; i = (i + 1) & this.#mask) {
      if (ids[i] === id) {
        this.#values[i] = value;
        return;
      }
    }
    ids[i] = id;
    this.#values[i] = value;
    this.#size++;
  }

  /** Removes `id`'s entry; false when there was none. */
  delete(id: number): boolean {
    if (id <= 0) return false;
    const ids = this.#ids;
    const mask = this.#mask;
    let i = this.#slot(id);
    for (; ; i = (i + 1) & mask) {
      if (ids[i] === id) break;
      if (ids[i] === 0) return false;
    }
    // Backward shift: the entries after the hole that probed past it move into it, so that a
    // lookup never stops early at a hole (no tombstones).
    let hole = i;
    for (let j = (i + 1) & mask; ids[j] !== 0; j = (j + 1) & mask) {
      const home = this.#slot(ids[j]!);
      // j's entry may fill the hole when its home is not within (hole, j] (cyclically).
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        ids[hole] = ids[j]!;
        this.#values[hole] = this.#values[j];
        hole = j;
      }
    }
    ids[hole] = 0;
    this.#values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** The entries, by increasing id (the order they were opened in): a new list, safe to change the table while reading it. */
  values(): T[] {
    const ids: number[] = [];
    for (let i = 0; i < this.#ids.length; i++) if (this.#ids[i] !== 0) ids.push(this.#ids[i]!);
    ids.sort((a, b) => a - b);
    return ids.map((id) => this.get(id)!);
  }

  #grow(): void {
    const oldIds = this.#ids;
    const oldValues = this.#values;
    const n = oldIds.length * 2;
    this.#ids = new Uint32Array(n);
    this.#values = new Array<T | undefined>(n).fill(undefined);
    this.#mask = n - 1;
    this.#size = 0;
    for (let i = 0; i < oldIds.length; i++) if (oldIds[i] !== 0) this.set(oldIds[i]!, oldValues[i]!);
  }
}
