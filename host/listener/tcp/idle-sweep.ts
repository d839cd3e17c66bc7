// The idle timeout of TCP sessions (Envoy's tcp_proxy idle_timeout) as one coarse timer for all
// sessions with the same timeout, instead of a timer per session: a short connection (connect, a
// few bytes, close) used to create, unref and clear a Timeout of its own; here it costs a Set add
// and delete. One unref'd interval per timeout value runs while some session is registered and
// walks them every `tick` (a sixteenth of the timeout, at most 1 s), closing those whose last byte
// is older than the timeout: a session is closed between `idleMs` and `idleMs + tick` after its
// last byte (Envoy's timer: at `idleMs`). The walk is O(open sessions) per tick, a comparison each
// (10 000 sessions: about 10 µs a second under Istio's 1 h default).
// The TCP proxy's connect timeout is the same kind of deadline (no 'connect' for that long after
// the connect started) and uses the same sweeps (host/server/tcp-proxy-connection.ts): a connect
// attempt is a candidate whose lastActivity is its start, registered until it connects or fails.

/** What the sweep needs of a session. */
export interface IdleCandidate {
  /** Date.now() of the session's last byte (either way). */
  readonly lastActivity: number;
  /** Called once when it has been idle for the sweep's timeout (it is unregistered first). */
  idleOut(): void;
}

/** The longest interval between two walks, whatever the timeout. */
export const IDLE_SWEEP_MAX_TICK_MS = 1000;

export class IdleSweep {
  readonly idleMs: number;
  readonly tickMs: number;
  readonly #members = new Set<IdleCandidate>();
  #timer: NodeJS.Timeout | null = null;

  constructor(idleMs: number) {
    if (!(idleMs > 0)) throw new RangeError(`IdleSweep: idle timeout must be positive (got ${idleMs})`);
    this.idleMs = idleMs;
    this.tickMs = Math.max(1, Math.min(IDLE_SWEEP_MAX_TICK_MS, Math.floor(idleMs / 16)));
  }

  /** Sessions registered (tests, stats). */
  get size(): number {
    return this.#members.size;
  }

  add(c: IdleCandidate): void {
    this.#members.add(c);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#walk(), this.tickMs);
      this.#timer.unref();
    }
  }

  delete(c: IdleCandidate): void {
    this.#members.delete(c);
    // The interval stays until a walk finds the set empty: a server between two short
    // connections does not stop and restart it each time.
  }

  #walk(): void {
    if (this.#members.size === 0) {
      clearInterval(this.#timer!);
      this.#timer = null;
      return;
    }
    const deadline = Date.now() - this.idleMs;
    for (const c of this.#members) {
      if (c.lastActivity > deadline) continue;
      this.#members.delete(c);
      c.idleOut();
    }
  }
}

const shared = new Map<number, IdleSweep>();

/** The process's sweep for `idleMs` (sessions with the same timeout share its one timer). */
export function idleSweepFor(idleMs: number): IdleSweep {
  let s = shared.get(idleMs);
  if (s === undefined) shared.set(idleMs, (s = new IdleSweep(idleMs)));
  return s;
}
