// HTTP/2 PING keepalive (Envoy's http2_protocol_options.connection_keepalive) for one connection
// of the core codec: the timer a connection runs to find out that its peer is gone or stuck while
// the TCP connection still looks open.
//
// Keepalive, as Envoy's KeepaliveSettings:
// - every `intervalMs` (minus up to `intervalJitterPercent` % at random, Envoy's interval_jitter,
//   default 15 %) a PING with fresh opaque data goes out;
// - no ACK with that data within `timeoutMs` → onTimeout (the connection closes, stat
//   `http2.keepalive_timeout`). As in Envoy, any frame received while waiting extends the wait
//   (the ACK may be queued behind a large response: head-of-line blocking is no failure);
// - `connectionIdleIntervalMs` (Envoy connection_idle_interval): before a new stream on a
//   connection that received nothing for that long, a PING goes out first, so a connection that
//   died while idle is found on its first request rather than after the interval.
// One timer per connection at a time, unref'd; nothing runs per frame except storing the time.
import { randomFillSync } from 'node:crypto';

export interface H2KeepaliveSettings {
  /** Time between PINGs (Envoy connection_keepalive.interval); 0 = no keepalive PINGs. */
  intervalMs: number;
  /** Time to wait for the PING's ACK (Envoy connection_keepalive.timeout). */
  timeoutMs: number;
  /** Up to this percentage of the interval is taken off at random (Envoy interval_jitter: 15). */
  intervalJitterPercent: number;
  /** A PING before a new stream after this long with nothing received; 0 = off (Envoy connection_idle_interval). */
  connectionIdleIntervalMs: number;
}

/** What a keepalive needs of its connection. */
export interface H2KeepaliveOwner {
  /** Queue a PING frame with these 8 bytes. */
  sendPing(opaque: Buffer): void;
  /** No ACK in time: close the connection. */
  keepaliveTimeout(): void;
}

export class H2Keepalive {
  readonly #s: Readonly<H2KeepaliveSettings>;
  readonly #owner: H2KeepaliveOwner;
  #timer: NodeJS.Timeout | null = null;
  /** The opaque data of the PING awaiting its ACK, or null. */
  #outstanding: Buffer | null = null;
  #sentAt = 0;
  #lastReceived = performance.now();
  #stopped = false;

  constructor(settings: Readonly<H2KeepaliveSettings>, owner: H2KeepaliveOwner) {
    this.#s = settings;
    this.#owner = owner;
    if (settings.intervalMs > 0) this.#armInterval();
  }

  /** Any frame arrived (cheap: one store). */
  received(): void {
    this.#lastReceived = performance.now();
  }

  /** A PING ACK with `opaque`: true when it answered our PING. */
  ack(opaque: Uint8Array): boolean {
    const out = this.#outstanding;
    if (out === null || !out.equals(opaque)) return false;
    this.#outstanding = null;
    this.#clear();
    if (this.#s.intervalMs > 0) this.#armInterval();
    return true;
  }

  /** A stream is about to open: PING first when the connection received nothing for connectionIdleIntervalMs. */
  beforeStream(): void {
    const idle = this.#s.connectionIdleIntervalMs;
    if (idle > 0 && this.#outstanding === null && !this.#stopped && performance.now() - this.#lastReceived >= idle) this.#ping();
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #armInterval(): void {
    if (this.#stopped) return;
    const s = this.#s;
    const jitter = s.intervalJitterPercent > 0 ? Math.random() * s.intervalMs * Math.min(100, s.intervalJitterPercent) / 100 : 0;
    this.#clear();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#ping();
    }, Math.max(1, Math.round(s.intervalMs - jitter)));
    this.#timer.unref();
  }

  #ping(): void {
    if (this.#stopped) return;
    const opaque = randomFillSync(Buffer.allocUnsafe(8));
    this.#outstanding = opaque;
    this.#sentAt = performance.now();
    this.#owner.sendPing(opaque);
    this.#armTimeout(this.#s.timeoutMs);
  }

  #armTimeout(ms: number): void {
    this.#clear();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopped || this.#outstanding === null) return;
      // A frame received after the PING went out: the peer is alive, its ACK queued behind it.
      const since = Math.max(this.#sentAt, this.#lastReceived);
      const left = since + this.#s.timeoutMs - performance.now();
      if (this.#lastReceived > this.#sentAt && left > 0) return this.#armTimeout(left);
      this.#stopped = true;
      this.#owner.keepaliveTimeout();
    }, Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }
}

/** Envoy's default: no keepalive PINGs (connection_keepalive unset); the jitter is its interval_jitter default. */
export const NO_KEEPALIVE: Readonly<H2KeepaliveSettings> = Object.freeze({
  intervalMs: 0,
  timeoutMs: 20_000,
  intervalJitterPercent: 15,
  connectionIdleIntervalMs: 0,
});

/** True when the settings ask for any PING at all (else no H2Keepalive is made). */
export function keepaliveOn(s: Readonly<H2KeepaliveSettings>): boolean {
  return s.intervalMs > 0 || s.connectionIdleIntervalMs > 0;
}
