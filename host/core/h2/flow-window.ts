// HTTP/2 flow control (RFC 9113 §5.2, §6.9) for one stream or the whole connection, both ways.
//
// SendWindow: what the client lets this side send; DATA takes from it, WINDOW_UPDATE and a
// larger SETTINGS_INITIAL_WINDOW_SIZE give to it (it may go negative after a smaller one, §6.9.2);
// past 2^31-1 is the client's FLOW_CONTROL_ERROR.
//
// RecvWindow: what this side lets the client send. Each DATA frame (padding included) takes from
// it — more than is left is the client's FLOW_CONTROL_ERROR; bytes given back once consumed
// (handed to the request's handler, or dropped) are returned to the client in one WINDOW_UPDATE
// when they reach half the window, so a stream whose handler pauses stops getting window and the
// client stops sending: flow control is the backpressure towards the client.
import { MAX_WINDOW } from './h2-settings.js';

export class SendWindow {
  constructor(public available: number) {}

  /** Adds a WINDOW_UPDATE increment or a settings delta; false when the window would pass 2^31-1. */
  grow(n: number): boolean {
    if (this.available + n > MAX_WINDOW) return false;
    this.available += n;
    return true;
  }

  take(n: number): void {
    this.available -= n;
  }

  /** Starts over at `initial` (a pooled stream reused, listener/http2-core/h2-stream-pool.ts). */
  reset(initial: number): void {
    this.available = initial;
  }
}

export class RecvWindow {
  /** Bytes the client may still send. */
  available: number;
  /** Consumed bytes not yet returned by a WINDOW_UPDATE. */
  #owed = 0;

  /** The window's size (what WINDOW_UPDATEs restore it to). */
  size: number;

  constructor(size: number) {
    this.size = size;
    this.available = size;
  }

  /** Starts over, a window of `size` with nothing owed (a pooled stream reused). */
  reset(size: number): void {
    this.size = size;
    this.available = size;
    this.#owed = 0;
  }

  /** A DATA frame of `n` bytes arrived; false when it was more than the window allowed. */
  receive(n: number): boolean {
    if (n > this.available) return false;
    this.available -= n;
    return true;
  }

  /** `n` received bytes were consumed; returns the increment to send now (0: not yet). */
  consume(n: number): number {
    this.#owed += n;
    if (this.#owed < this.size / 2 && this.available > 0) return 0;
    const inc = this.#owed;
    this.#owed = 0;
    this.available += inc;
    return inc;
  }
}
