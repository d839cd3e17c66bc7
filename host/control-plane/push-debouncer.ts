// Istio's push debounce: a change starts a quiet period (PILOT_DEBOUNCE_AFTER, 100 ms) that each
// further change restarts, but never beyond a longest wait from the first change
// (PILOT_DEBOUNCE_MAX, 10 s), so a burst of edits makes one push and a steady stream still pushes.
export class PushDebouncer {
  readonly #quietMs: number;
  readonly #maxDelayMs: number;
  readonly #fire: (firstChangeAt: number) => void;
  #timer: NodeJS.Timeout | null = null;
  #firstAt = 0;

  constructor(quietMs: number, maxDelayMs: number, fire: (firstChangeAt: number) => void) {
    if (!(quietMs >= 0) || !(maxDelayMs >= quietMs)) throw new Error(`wasmesh: debounce quiet ${quietMs} ms and longest wait ${maxDelayMs} ms must satisfy 0 ≤ quiet ≤ longest (DEBOUNCE_INVALID)`);
    this.#quietMs = quietMs;
    this.#maxDelayMs = maxDelayMs;
    this.#fire = fire;
  }

  /** A change happened now. */
  trigger(): void {
    const now = Date.now();
    if (this.#timer === null) this.#firstAt = now;
    else clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#quietMs, this.#firstAt + this.#maxDelayMs - now));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#fire(this.#firstAt);
    }, wait);
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
