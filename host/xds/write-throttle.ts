// A bound on the response bytes being written at once across every ADS stream (Istio's
// PILOT_PUSH_THROTTLE bounds concurrent pushes likewise). A response is encoded when it is
// written — protobufjs builds its bytes, grpc-js copies them into a frame, HTTP/2 buffers that until
// the proxy reads it — so a full push to 100 proxies written at once held 2 × 171 MiB. Writes
// beyond the bound wait in order until earlier ones are handed to the connection (the write's
// callback), their stream ends, or they have been out for `stallMs` (a proxy that does not read
// must not hold up the others). A write larger than the bound goes alone.

export interface ThrottledWrite {
  /** Releases the write's bytes from the bound (once; later calls do nothing). */
  done(): void;
}

interface Waiting {
  bytes: number;
  start: (w: ThrottledWrite) => void;
  cancelled: boolean;
}

export class WriteThrottle {
  readonly maxBytes: number;
  readonly stallMs: number;
  #inFlight = 0;
  #queue: Waiting[] = [];
  #head = 0;
  #draining = false;
  #again = false;

  constructor(maxBytes: number, stallMs = 1000) {
    this.maxBytes = maxBytes;
    this.stallMs = stallMs;
  }

  /** Bytes of the writes started and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Writes waiting for room. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Starts `start` now if there is room (or nothing else is out), otherwise when there is; it
   * must call the handle's done() once the write is handed over. Returns a cancel for a write
   * that has not started (a stream that ended): it then never starts.
   */
  submit(bytes: number, start: (w: ThrottledWrite) => void): () => void {
    const w: Waiting = { bytes, start, cancelled: false };
    this.#queue.push(w);
    this.#drain();
    return () => {
      w.cancelled = true;
      this.#drain();
    };
  }

  #drain(): void {
    // A write may be released while it starts (a synchronous callback): one drain at a time.
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#again = false;
        while (this.#head < this.#queue.length) {
          const w = this.#queue[this.#head]!;
          if (!w.cancelled && this.#inFlight > 0 && this.#inFlight + w.bytes > this.maxBytes) break;
          this.#head++;
          if (!w.cancelled) this.#begin(w);
        }
      } while (this.#again);
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#draining = false;
    }
  }

  #begin(w: Waiting): void {
    this.#inFlight += w.bytes;
    let released = false;
    const timer = setTimeout(() => release(), this.stallMs);
    timer.unref();
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.#inFlight -= w.bytes;
      this.#drain();
    };
    w.start({ done: release });
  }
}
