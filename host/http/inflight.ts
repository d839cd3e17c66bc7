// The requests in flight, for the drain at shutdown and the `inflight` count.
//
// Not a Set. Under steady add/delete churn, V8's Set kept finished streams reachable for the
// young-generation collector (its hash tables outlive a scavenge or two, land in the old
// generation, and what they pointed to is then kept by the remembered set until a full
// collection): measured with --trace-gc-nvp at 5,000 rps over 16 connections, ~1.7 MB of
// finished requests survived every scavenge, so nearly every request was promoted and died in
// the old generation (3–5 ms scavenges, a mark-compact every few seconds). With this list,
// ~30 KB. An array with swap-removal: every member knows its slot, and a freed slot is cleared.

export interface InflightMember {
  /** The member's slot in its list, or -1 when it is in none (only InflightList writes it). */
  inflightIndex: number;
}

export class InflightList<T extends InflightMember> {
  readonly #items: Array<T | undefined> = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    if (item.inflightIndex >= 0) return;
    item.inflightIndex = this.#size;
    this.#items[this.#size++] = item;
  }

  /** Removes `item` (false when it is not in the list); the last member takes its slot. */
  delete(item: T): boolean {
    const i = item.inflightIndex;
    if (i < 0 || i >= this.#size || this.#items[i] !== item) return false;
    const last = this.#items[--this.#size]!;
    this.#items[i] = last;
    last.inflightIndex = i;
    this.#items[this.#size] = undefined;
    item.inflightIndex = -1;
    return true;
  }

  /** A copy of the members (the list may change while the caller goes through it). */
  values(): T[] {
    return this.#items.slice(0, this.#size) as T[];
  }
}
