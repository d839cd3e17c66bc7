// The SETTINGS ACK timeout (RFC 9113 §6.5.3) for one connection of the core codec, either side:
// this side's SETTINGS unacknowledged after `ms` → onTimeout, and the connection sends GOAWAY
// SETTINGS_TIMEOUT (0x4) and closes (stat `http2.settings_timeout`, wasmesh's name: Envoy has no
// such timer, nghttp2 waits for the ACK forever). Without it a peer that never ACKs leaves this
// side unsure whether its windows and limits apply. One unref'd timer, armed only while a
// SETTINGS frame is unacknowledged.

/** RFC 9113 §6.5.3: this side's SETTINGS not ACKed in time. */
export class SettingsAckTimer {
  #timer: NodeJS.Timeout | null = null;
  /** SETTINGS frames sent and not yet ACKed. */
  #awaiting = 0;
  readonly #ms: number;
  readonly #onTimeout: () => void;

  /** `ms` 0: off. */
  constructor(ms: number, onTimeout: () => void) {
    this.#ms = ms;
    this.#onTimeout = onTimeout;
  }

  /** A SETTINGS frame went out. */
  sent(): void {
    this.#awaiting++;
    if (this.#ms <= 0 || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#awaiting > 0) this.#onTimeout();
    }, this.#ms);
    this.#timer.unref();
  }

  /** A SETTINGS ACK arrived. */
  acked(): void {
    if (this.#awaiting > 0) this.#awaiting--;
    if (this.#awaiting === 0) this.stop();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** wasmesh's default (Envoy: none): long enough for any live peer, short enough to free the slot. */
export const DEFAULT_SETTINGS_TIMEOUT_MS = 10_000;
