// Deadlines of many owners behind one Node timer: a binary min-heap of the owners themselves
// (each keeps its slot and due time), so arming and clearing a deadline allocates nothing. A
// setTimeout per request (the router's route timeout) made a Timeout object, a closure and
// async-id bookkeeping per request, and a clearTimeout when it was answered, almost always
// long before the deadline.
//
// The timer is armed for the earliest deadline and left alone when that deadline is cleared:
// when it fires early (its owner is gone) it is re-armed for the earliest one then, so it
// fires about once per deadline length while requests come and go, not once per request. A
// deadline earlier than the armed one re-arms it (a shorter duration: a gRPC deadline). The
// timer is unref'd: a deadline matters only while its request's sockets keep the process alive.
// Times are performance.now() (monotonic), as the listeners' idle timers.

/** An owner of at most one deadline at a time. */
export interface Deadline {
  /** @internal (DeadlineQueue) its index in the heap; -1 when not queued (initialise to -1). */
  deadlineSlot: number;
  /** @internal (DeadlineQueue) when it is due (performance.now() ms, rounded up to whole ms; initialise to 0). */
  deadlineAt: number;
  /** The deadline passed (it is out of the queue when called). */
  onDeadline(): void;
}

/** A deadline due within this many ms of the timer's firing is due (the timer's clock is in whole ms). */
const EARLY_MS = 1;
/** The longest delay a Node timer takes as given. */
const MAX_TIMER_MS = 0x7fffffff;

export class DeadlineQueue {
  readonly #heap: Deadline[] = [];
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (Infinity when none is armed). */
  #timerAt = Infinity;
  readonly #onTimer = (): void => this.#fire();

  /** Deadlines queued. */
  get size(): number {
    return this.#heap.length;
  }

  /** Queues `d` due in `ms` (> 0) from now; `d` must not be queued already. */
  add(d: Deadline, ms: number): void {
    if (d.deadlineSlot >= 0) throw new Error('wasmesh: DeadlineQueue.add of a deadline already queued');
    if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`wasmesh: DeadlineQueue.add: the delay must be a finite number of ms > 0 (got ${ms})`);
    // Whole ms: a small integer in the owner's field, not a boxed double per store (or per
    // load in code not yet optimised).
    const at = Math.ceil(performance.now() + ms);
    d.deadlineAt = at;
    const heap = this.#heap;
    d.deadlineSlot = heap.length;
    heap.push(d);
    this.#up(d.deadlineSlot);
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Takes `d` out (nothing when it is not queued). The timer is not touched. */
  remove(d: Deadline): void {
    const i = d.deadlineSlot;
    if (i < 0) return;
    const heap = this.#heap;
    if (heap[i] !== d) throw new Error('wasmesh: DeadlineQueue.remove of a deadline queued elsewhere');
    d.deadlineSlot = -1;
    const last = heap.pop()!;
    if (last === d) return;
    heap[i] = last;
    last.deadlineSlot = i;
    this.#down(i);
    this.#up(last.deadlineSlot);
  }

  /** Drops every deadline without calling it, and the timer (shutdown). */
  clear(): void {
    for (const d of this.#heap) d.deadlineSlot = -1;
    this.#heap.length = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    // Node fires a delay above 2^31 - 1 ms after 1 ms: a farther deadline takes several firings.
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(at - performance.now())));
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimer, ms);
    this.#timer.unref();
    this.#timerAt = at;
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const heap = this.#heap;
    // One pass over what is due now; what a callback queues is due later (delays are > 0).
    const now = performance.now() + EARLY_MS;
    while (heap.length > 0 && heap[0]!.deadlineAt <= now) {
      const d = heap[0]!;
      this.remove(d);
      d.onDeadline();
    }
    // A callback may have armed the timer for a deadline it queued: the earliest one counts.
    if (heap.length > 0 && heap[0]!.deadlineAt < this.#timerAt) this.#arm(heap[0]!.deadlineAt);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const d = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >>> 1;
      const parent = heap[p]!;
      if (parent.deadlineAt <= d.deadlineAt) break;
      heap[i] = parent;
      parent.deadlineSlot = i;
      i = p;
    }
    heap[i] = d;
    d.deadlineSlot = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const d = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.deadlineAt < heap[l]!.deadlineAt ? r : l;
      const child = heap[c]!;
      if (child.deadlineAt >= d.deadlineAt) break;
      heap[i] = child;
      child.deadlineSlot = i;
      i = c;
    }
    heap[i] = d;
    d.deadlineSlot = i;
  }
}
