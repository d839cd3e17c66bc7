// One proxied TCP connection (Envoy's tcp_proxy session once the upstream is connected): bytes
// both ways, as the sockets hand them over (no copy, no re-chunking), with
// - backpressure: a side whose peer's write() returns false is paused until the peer drains;
// - half-close: a FIN from one side is passed on as end() to the other (both sockets are
//   allowHalfOpen), and the session ends once both directions are closed;
// - resets: an error or an abortive close on one side destroys the other with a RST
//   (resetAndDestroy), as Envoy closes with NoFlush on a reset;
// - an idle timeout (Envoy's tcp_proxy idle_timeout, Istio's default 1 h): no byte either way
//   for that long closes both sides. One timer per session, re-armed lazily from the time of the
//   last byte, so traffic costs a Date.now() per chunk and no timer churn.
import type { Socket } from 'node:net';
import type { UserBufferReader } from './user-buffer-reader.js';

/** How a session ended, for stats, access logs and the response flags. */
export type TcpSessionEnd =
  /** Both sides closed their direction (FIN both ways) or one closed gracefully after the other. */
  | 'closed'
  /** No byte either way for idleTimeoutMs. */
  | 'idle_timeout'
  /** The downstream reset (or errored): the upstream was reset. */
  | 'downstream_reset'
  /** The upstream reset (or errored): the downstream was reset (response flag UC). */
  | 'upstream_reset'
  /** Closed by the proxy (shutdown, close()). */
  | 'local_close';

export interface TcpSessionOptions {
  /** 0: no idle timeout. */
  idleTimeoutMs: number;
  /** The upstream reads into its own buffer (it was connected with this reader's onread option). */
  upstreamReader?: UserBufferReader;
  /** The downstream reads into its own buffer (re-wrapped with this reader's onread: user-buffer-downstream.ts). */
  downstreamReader?: UserBufferReader;
}

export interface TcpSessionCallbacks {
  /** Called once, after both sockets are closed. */
  onEnd(session: TcpProxySession): void;
  /** The downstream's reading was paused for upstream backpressure (false: resumed). */
  onDownstreamFlowControl?(paused: boolean): void;
}

export class TcpProxySession {
  /** Bytes read from the downstream (and written upstream). */
  rxBytes = 0;
  /** Bytes read from the upstream (and written downstream). */
  txBytes = 0;
  /** Set once, when the session is over (see onEnd). */
  end: TcpSessionEnd | null = null;
  /** The downstream closed while upstream-bound bytes were still buffered (Envoy's upstream_flush). */
  upstreamFlushed = false;
  readonly startedAt = Date.now();
  readonly #down: Socket;
  readonly #up: Socket;
  readonly #idleMs: number;
  readonly #cb: TcpSessionCallbacks;
  #lastActivity = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #cause: TcpSessionEnd | null = null;
  #open = 2;

  constructor(downstream: Socket, upstream: Socket, opts: TcpSessionOptions, callbacks: TcpSessionCallbacks) {
    this.#down = downstream;
    this.#up = upstream;
    this.#idleMs = opts.idleTimeoutMs;
    this.#cb = callbacks;
    if (opts.downstreamReader !== undefined) this.#pipeUserBuffer(downstream, upstream, opts.downstreamReader, true);
    else this.#pipe(downstream, upstream, true);
    if (opts.upstreamReader !== undefined) this.#pipeUserBuffer(upstream, downstream, opts.upstreamReader, false);
    else this.#pipe(upstream, downstream, false);
    if (this.#idleMs > 0) this.#arm(this.#idleMs);
    // A downstream accepted with pauseOnConnect (no read before the upstream is there).
    downstream.resume();
  }

  /** Closes both sides at once (proxy shutdown): a RST to each. */
  close(): void {
    this.#cause ??= 'local_close';
    this.#down.resetAndDestroy();
    this.#up.resetAndDestroy();
  }

  #pipe(from: Socket, to: Socket, downstreamSide: boolean): void {
    from.on('data', (chunk: Buffer) => {
      this.#lastActivity = Date.now();
      if (downstreamSide) this.rxBytes += chunk.length;
      else this.txBytes += chunk.length;
      if (!to.write(chunk)) {
        from.pause();
        if (downstreamSide) this.#cb.onDownstreamFlowControl?.(true);
      }
    });
    to.on('drain', () => {
      if (!from.isPaused() || from.destroyed) return;
      from.resume();
      if (downstreamSide) this.#cb.onDownstreamFlowControl?.(false);
    });
    this.#pipeEnds(from, to, downstreamSide);
  }

  #pipeEnds(from: Socket, to: Socket, downstreamSide: boolean): void {
    // Half-close: the FIN travels on; what `to` still has buffered is flushed before its FIN.
    from.on('end', () => {
      if (downstreamSide && to.writableLength > 0) this.upstreamFlushed = true;
      if (!to.destroyed) to.end();
    });
    from.on('error', () => {
      // Handled in 'close' (hadError): the other side gets a reset.
    });
    from.on('close', (hadError: boolean) => {
      if (hadError || !from.readableEnded) {
        // Destroyed without a FIN (reset, error, or our own close): the other side is reset.
        this.#cause ??= downstreamSide ? 'downstream_reset' : 'upstream_reset';
        if (!to.destroyed) to.resetAndDestroy();
      }
      if (--this.#open === 0) this.#finish();
    });
  }

  /**
   * One direction when its reader reads into a reused buffer: each read is written to the peer as
   * a view of that buffer, and if the write did not complete at once (bytes still queued: the
   * view is still referenced) the reader is paused until the write's callback, so no read can
   * overwrite bytes not yet sent. At most one read is in flight this way, which is also the
   * backpressure (no 'drain' needed); the downstream's flow-control count still reports the
   * pauses where the peer's write() said it was over its high-water mark, as #pipe does.
   * End, errors and close as in #pipe.
   */
  #pipeUserBuffer(from: Socket, to: Socket, reader: UserBufferReader, downstreamSide: boolean): void {
    let overWatermark = false;
    const written = (err?: Error | null): void => {
      if (err || from.destroyed || to.destroyed) return;
      from.resume();
      if (overWatermark) {
        overWatermark = false;
        this.#cb.onDownstreamFlowControl?.(false);
      }
    };
    reader.attach((n, buf) => {
      this.#lastActivity = Date.now();
      if (downstreamSide) this.rxBytes += n;
      else this.txBytes += n;
      if (to.destroyed) return false;
      const below = to.write(buf.subarray(0, n), written);
      if (to.writableLength === 0) return false;
      from.pause();
      if (!below && downstreamSide && !overWatermark) {
        overWatermark = true;
        this.#cb.onDownstreamFlowControl?.(true);
      }
      return true;
    }, from);
    this.#pipeEnds(from, to, downstreamSide);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const idle = Date.now() - this.#lastActivity;
      if (idle < this.#idleMs) return this.#arm(this.#idleMs - idle);
      this.#cause ??= 'idle_timeout';
      // Envoy closes both with FlushWrite; a silent connection has nothing buffered.
      this.#down.destroy();
      this.#up.destroy();
    }, ms);
    this.#timer.unref();
  }

  #finish(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.end = this.#cause ?? 'closed';
    this.#cb.onEnd(this);
  }
}
