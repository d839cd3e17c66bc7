// The sidecar's termination drain, Istio's pod shutdown done with one deadline: on SIGTERM (or
// POST /quitquitquit) pilot-agent asks Envoy to drain its *inbound* listeners
// (`/drain_listeners?inboundonly&graceful`) and waits terminationDrainDuration (default 5 s) —
// with EXIT_ON_ZERO_ACTIVE_CONNECTIONS, only until no downstream connection is left. Here the
// inbound side stops accepting, answers what its open connections send with `connection: close`
// (GOAWAY on HTTP/2) and ends idle ones, while the outbound side keeps serving the app, which is
// finishing its own work; the drain ends when no downstream connection is left on either side
// (the app's own keep-alive connections close when it exits) or at the deadline, whichever first.
// What is still running then is cut by the close that follows.

/** One side of the data path as the drain sees it. */
export interface DrainSide {
  /** Open downstream connections (0: nothing left to wait for on this side). */
  readonly activeConnections: number;
}

/** An inbound side: drained at the start. */
export interface DrainableSide extends DrainSide {
  drain(): void;
}

export interface TerminationDrainPlan {
  /** Stop accepting at once; their connections end after their current request. */
  inbound: readonly DrainableSide[];
  /** Keep serving (the app's outbound calls) until idle or the deadline. */
  outbound: readonly DrainSide[];
  /** The deadline: ms from the start of the drain (terminationDrainDuration). */
  deadlineMs: number;
  /**
   * Not idle before this many ms (Istio's MINIMUM_DRAIN_DURATION): for an app that makes calls
   * during its own shutdown without holding a connection open meanwhile. Default 0; the deadline
   * (Istio's EXIT_ON_ZERO_ACTIVE_CONNECTIONS=false) waits the whole drain.
   */
  minimumMs?: number;
  /** How often the connection counts are read (ms); default 20. */
  pollMs?: number;
}

export interface TerminationDrainResult {
  /** `idle`: no connection was left before the deadline; `deadline`: some still were. */
  outcome: 'idle' | 'deadline';
  elapsedMs: number;
  /** Connections open when the drain ended (0 when idle). */
  remaining: number;
}

/** Drains the inbound sides and waits for every side to go idle, or for the deadline. */
export async function terminationDrain(plan: TerminationDrainPlan): Promise<TerminationDrainResult> {
  const start = Date.now();
  for (const side of plan.inbound) side.drain();
  const open = (): number => [...plan.inbound, ...plan.outbound].reduce((n, s) => n + s.activeConnections, 0);
  const poll = plan.pollMs ?? 20;
  const deadlineAt = start + plan.deadlineMs;
  const minimumAt = start + Math.min(plan.minimumMs ?? 0, plan.deadlineMs);
  for (;;) {
    const now = Date.now();
    const n = open();
    if (n === 0 && now >= minimumAt) break;
    if (now >= deadlineAt) return { outcome: 'deadline', elapsedMs: now - start, remaining: n };
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(poll, (n === 0 ? minimumAt : deadlineAt) - now))));
  }
  return { outcome: 'idle', elapsedMs: Date.now() - start, remaining: 0 };
}
