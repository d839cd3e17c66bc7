// The requests a fault filter root context holds paused: (stream, deadline, abort status)
// records in one growable block, kept unordered (a delayed request is rare next to the others;
// a scan per tick is cheaper than keeping order).

const RECORD: usize = 16; // u32 stream id, u32 abort status (0 = continue), u64 deadline (ns)
const INITIAL: u32 = 16;

export class PendingDelays {
  private block: usize = 0;
  private capacity: u32 = 0;
  private n: u32 = 0;

  get count(): u32 {
    return this.n;
  }

  add(stream: u32, abortStatus: u32, deadlineNs: u64): void {
    if (this.n == this.capacity) {
      const capacity = this.capacity == 0 ? INITIAL : this.capacity * 2;
      const block = heap.alloc(<usize>capacity * RECORD);
      if (this.block != 0) {
        memory.copy(block, this.block, <usize>this.n * RECORD);
        heap.free(this.block);
      }
      this.block = block;
      this.capacity = capacity;
    }
    const r = this.block + <usize>this.n * RECORD;
    store<u32>(r, stream);
    store<u32>(r + 4, abortStatus);
    store<u64>(r + 8, deadlineNs);
    this.n++;
  }

  /** Index of a record whose deadline is at or before `nowNs`, or -1. */
  due(nowNs: u64): i32 {
    for (let i: u32 = 0; i < this.n; i++) {
      if (load<u64>(this.block + <usize>i * RECORD + 8) <= nowNs) return <i32>i;
    }
    return -1;
  }

  /** Index of `stream`'s record, or -1. */
  find(stream: u32): i32 {
    for (let i: u32 = 0; i < this.n; i++) {
      if (load<u32>(this.block + <usize>i * RECORD) == stream) return <i32>i;
    }
    return -1;
  }

  stream(i: i32): u32 {
    return load<u32>(this.block + <usize>i * RECORD);
  }

  abortStatus(i: i32): u32 {
    return load<u32>(this.block + <usize>i * RECORD + 4);
  }

  /** The earliest deadline (u64 max when empty). */
  earliest(): u64 {
    let min: u64 = u64.MAX_VALUE;
    for (let i: u32 = 0; i < this.n; i++) {
      const d = load<u64>(this.block + <usize>i * RECORD + 8);
      if (d < min) min = d;
    }
    return min;
  }

  /** Removes record `i` (the last record takes its place). */
  remove(i: i32): void {
    this.n--;
    if (<u32>i != this.n) memory.copy(this.block + <usize>i * RECORD, this.block + <usize>this.n * RECORD, RECORD);
  }

  /** Frees the block (the root context is going away). */
  release(): void {
    if (this.block != 0) heap.free(this.block);
    this.block = 0;
    this.capacity = 0;
    this.n = 0;
  }
}
