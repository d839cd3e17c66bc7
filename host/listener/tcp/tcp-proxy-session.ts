// One proxied TCP connection (Envoy's tcp_proxy session once the upstream is connected): bytes
// both ways, as the sockets hand them over (no copy, no re-chunking), with
// - backpressure: a side whose peer's write() returns false is paused until the peer drains
//   (sides reading into user buffers: paused while their read is held, or, pipelined, once
//   PIPELINE_HIGH bytes are queued toward the peer; see #pipeUserBuffer and #pipeLent);
// - half-close: a FIN from one side is passed on as end() to the other (both sockets are
//   allowHalfOpen), and the session ends once both directions are closed;
// - resets: an error or an abortive close on one side destroys the other with a RST
//   (resetAndDestroy), as Envoy closes with NoFlush on a reset;
// - an idle timeout (Envoy's tcp_proxy idle_timeout, Istio's default 1 h): no byte either way
//   for that long closes both sides. No timer per session: the sessions with one timeout share a
//   coarse sweep (idle-sweep.ts) that compares each one's time of last byte, so traffic costs a
//   Date.now() per chunk and a connection a Set add and delete.
import type { ByteStream } from './byte-stream.js';
import type { UserBufferReader } from './user-buffer-reader.js';
import { rewrapWithUserBuffer } from './user-buffer-downstream.js';
import { resetSocket } from './reset-socket.js';
import { idleSweepFor, type IdleCandidate, type IdleSweep } from './idle-sweep.js';
import type { PeerExchange } from './metadata-exchange.js';

/** What Node allocates per read on its default path (stream_base's 64 KiB): a read of this size filled it. */
const NODE_READ_BYTES = 64 * 1024;
/** Pipelined: bytes queued toward a peer before its reader is paused (Envoy's per_connection_buffer_limit_bytes default; bufferLimits sets it), and resumed under half. */
export const PIPELINE_HIGH = 1024 * 1024;

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
  /** The sweep that times idleTimeoutMs out; default the process's shared one for that timeout. */
  idleSweep?: IdleSweep;
  /** The upstream reads into its own buffer (it was connected with this reader's onread option). */
  upstreamReader?: UserBufferReader;
  /** The downstream reads into its own buffer from the start (re-wrapped with this reader's onread: user-buffer-downstream.ts). */
  downstreamReader?: UserBufferReader;
  /**
   * The downstream is re-wrapped to read into a reader from this factory once it shows a bulk
   * stream (a read filling Node's 64 KiB allocation); needs upstreamReader. Ignored with downstreamReader.
   */
  downstreamReaderOnBulk?: () => UserBufferReader;
  /** The readers were made with `pipelined`: reads go on while writes are pending, up to the buffer limit queued. */
  pipelined?: boolean;
  /**
   * Pipelined: bytes queued toward each side before the other side's reading is paused (resumed
   * under half): Envoy's per_connection_buffer_limit_bytes of the listener (toward the downstream)
   * and of the cluster (toward the upstream). Default PIPELINE_HIGH (1 MiB) each. A soft limit as
   * Envoy's: the read that crosses it is still queued (at most one read, 256 KiB, more).
   */
  bufferLimits?: { toDownstream: number; toUpstream: number };
  /**
   * Istio's TCP metadata exchange of the downstream peer (metadata-exchange.ts): a stage of this
   * side's reading — each chunk read goes through it until it settles, and only the application
   * bytes after the peer's header go on; a refused or cut-short exchange closes the connection
   * (this side destroyed, the other reset). Needs Node's reads on that side (no downstreamReader).
   */
  downstreamExchange?: PeerExchange | null;
  /** The same for the upstream peer (no upstreamReader). */
  upstreamExchange?: PeerExchange | null;
}

export interface TcpSessionCallbacks {
  /** Called once, after both sockets are closed. */
  onEnd(session: TcpProxySession): void;
  /** The downstream's reading was paused for upstream backpressure (false: resumed). */
  onDownstreamFlowControl?(paused: boolean): void;
}

/** A side's errors are handled in its 'close' (hadError: the other side gets a reset); one function for all. */
function handledOnClose(): void {}

export class TcpProxySession implements IdleCandidate {
  /** Bytes read from the downstream (and written upstream). */
  rxBytes = 0;
  /** Bytes read from the upstream (and written downstream). */
  txBytes = 0;
  /** Set once, when the session is over (see onEnd). */
  end: TcpSessionEnd | null = null;
  /** The downstream closed while upstream-bound bytes were still buffered (Envoy's upstream_flush). */
  upstreamFlushed = false;
  readonly startedAt = Date.now();
  /** Date.now() of the last byte either way (the idle timeout's reference). */
  lastActivity = this.startedAt;
  #down: ByteStream;
  readonly #up: ByteStream;
  readonly #idle: IdleSweep | null;
  readonly #pipelined: boolean;
  readonly #limitToDown: number;
  readonly #limitToUp: number;
  readonly #cb: TcpSessionCallbacks;
  #cause: TcpSessionEnd | null = null;
  #open = 2;
  /** The downstream's default-read listeners, while it may still move to a user buffer (bulkDownstream). */
  #downDefault: { data: (c: Buffer) => void; drain: () => void; end: () => void; close: (e: boolean) => void } | null = null;
  /** The downstream moves to a user buffer on its first full default read (opts.downstreamReaderOnBulk). */
  #bulkReader: (() => UserBufferReader) | null;

  constructor(downstream: ByteStream, upstream: ByteStream, opts: TcpSessionOptions, callbacks: TcpSessionCallbacks) {
    this.#down = downstream;
    this.#up = upstream;
    this.#idle = opts.idleTimeoutMs > 0 ? opts.idleSweep ?? idleSweepFor(opts.idleTimeoutMs) : null;
    this.#pipelined = opts.pipelined === true;
    this.#limitToDown = opts.bufferLimits?.toDownstream ?? PIPELINE_HIGH;
    this.#limitToUp = opts.bufferLimits?.toUpstream ?? PIPELINE_HIGH;
    this.#cb = callbacks;
    const downExchange = opts.downstreamExchange ?? null;
    const upExchange = opts.upstreamExchange ?? null;
    if ((downExchange !== null && opts.downstreamReader !== undefined) || (upExchange !== null && opts.upstreamReader !== undefined)) {
      throw new Error('TcpProxySession: a metadata exchange reads the chunks Node reads on its side; that side cannot also read into a user buffer');
    }
    // Moving the downstream later needs the upstream direction to write to whichever socket is current.
    this.#bulkReader = opts.upstreamReader !== undefined && opts.downstreamReader === undefined && downExchange === null ? opts.downstreamReaderOnBulk ?? null : null;
    if (opts.downstreamReader !== undefined) this.#pipeUserBuffer(downstream, opts.downstreamReader, true);
    else this.#pipe(downstream, true, downExchange);
    if (opts.upstreamReader !== undefined) this.#pipeUserBuffer(upstream, opts.upstreamReader, false);
    else {
      this.#pipe(upstream, false, upExchange);
      // An upstream paused before the session (a TLS upstream whose metadata exchange was read
      // off it, the bytes after it put back) flows now; a flowing one is unchanged.
      upstream.resume();
    }
    this.#idle?.add(this);
    // A downstream accepted with pauseOnConnect (no read before the upstream is there).
    downstream.resume();
  }

  /** The downstream reads into a user buffer (from the start, or moved on a bulk read). */
  get downstreamUserBuffer(): boolean {
    return this.#downDefault === null;
  }

  /** Closes both sides at once (proxy shutdown): a RST to each. */
  close(): void {
    this.#cause ??= 'local_close';
    resetSocket(this.#down);
    resetSocket(this.#up);
  }

  /** Where bytes read on one side go: the other side's current socket. */
  #peer(downstreamSide: boolean): ByteStream {
    return downstreamSide ? this.#up : this.#down;
  }

  /** One direction on Node's reads ('data' chunks), through `exchange` first while it is unsettled. */
  #pipe(from: ByteStream, downstreamSide: boolean, exchange: PeerExchange | null): void {
    const to = this.#peer(downstreamSide);
    const overWatermark = (): void => {
      from.pause();
      if (downstreamSide) this.#cb.onDownstreamFlowControl?.(true);
    };
    // A TLS side (mesh mTLS) hands its plaintext over one TLS record (≤ 16 KiB) at a time, several
    // from one socket read: those of one turn of the event loop go to the peer in one write (a
    // writev) at its end, not a syscall each (docs/tcp.md, "TCP inside mesh mTLS: the cost").
    const coalesce = (from as { encrypted?: boolean }).encrypted === true;
    let batch: Buffer[] | null = null;
    const flush = (): void => {
      const chunks = batch;
      batch = null;
      if (chunks === null || to.destroyed) return;
      if (chunks.length === 1) {
        if (!to.write(chunks[0]!)) overWatermark();
        return;
      }
      let below = true;
      to.cork();
      for (const c of chunks) below = to.write(c) && below;
      to.uncork();
      if (!below) overWatermark();
    };
    const data = (read: Buffer): void => {
      let chunk = read;
      if (exchange !== null) {
        if (exchange.outcome === null) {
          const out = exchange.take(read);
          if (out === null) {
            if (exchange.refused) from.destroy();
            return;
          }
          chunk = out;
        } else if (exchange.refused) return; // chunks read before the destroy: no application byte either
      }
      this.lastActivity = Date.now();
      if (downstreamSide) this.rxBytes += chunk.length;
      else this.txBytes += chunk.length;
      if (coalesce) {
        if (batch === null) {
          batch = [chunk];
          setImmediate(flush);
        } else batch.push(chunk);
        return;
      }
      if (!to.write(chunk)) overWatermark();
      // A read that filled Node's 64 KiB allocation: a bulk stream, moved to a user buffer.
      if (downstreamSide && this.#bulkReader !== null && chunk.length >= NODE_READ_BYTES) this.#bulkDownstream();
    };
    const drain = (): void => {
      if (!from.isPaused() || from.destroyed) return;
      from.resume();
      if (downstreamSide) this.#cb.onDownstreamFlowControl?.(false);
    };
    from.on('data', data);
    to.on('drain', drain);
    // A FIN read after bytes still batched: they go first.
    const ends = this.#pipeEnds(from, downstreamSide, null, exchange, coalesce ? flush : null);
    if (downstreamSide) this.#downDefault = { data, drain, ...ends };
  }

  /** End, errors and close of `from`; its reader (if any) is closed with it (its buffers back to the free lists). */
  #pipeEnds(from: ByteStream, downstreamSide: boolean, reader: UserBufferReader | null, exchange: PeerExchange | null = null, flush: (() => void) | null = null): { end: () => void; close: (hadError: boolean) => void } {
    // Half-close: the FIN travels on; what `to` still has buffered is flushed before its FIN.
    const end = (): void => {
      flush?.();
      const to = this.#peer(downstreamSide);
      if (exchange !== null && exchange.outcome === null) {
        // The peer ended within its first bytes: short of the magic they were data; inside the exchange, no byte was.
        const held = exchange.ended();
        if (exchange.refused) {
          this.#cause ??= downstreamSide ? 'downstream_reset' : 'upstream_reset';
          if (!to.destroyed) resetSocket(to);
          from.destroy();
          return;
        }
        if (held !== null && !to.destroyed) {
          this.lastActivity = Date.now();
          if (downstreamSide) this.rxBytes += held.length;
          else this.txBytes += held.length;
          to.write(held);
        }
      }
      if (downstreamSide && to.writableLength > 0) this.upstreamFlushed = true;
      if (!to.destroyed) to.end();
    };
    const close = (hadError: boolean): void => {
      reader?.close();
      if (hadError || !from.readableEnded) {
        // Destroyed without a FIN (reset, error, or our own close): the other side is reset.
        this.#cause ??= downstreamSide ? 'downstream_reset' : 'upstream_reset';
        const to = this.#peer(downstreamSide);
        if (!to.destroyed) resetSocket(to);
      }
      if (--this.#open === 0) this.#finish();
    };
    from.on('end', end);
    from.on('error', handledOnClose);
    from.on('close', close);
    return { end, close };
  }

  /**
   * The downstream, read so far with Node's allocation per read, moves to a user buffer
   * (user-buffer-downstream.ts) once a read shows a bulk stream. Only between writes to it (its
   * handle moves with no write pending); a connection that never sends a full read (most
   * request/response protocols, short connections) never pays for the move. Bytes it had
   * buffered go first; a downstream paused for upstream backpressure resumes on the upstream's drain.
   */
  #bulkDownstream(): void {
    const makeReader = this.#bulkReader;
    const listeners = this.#downDefault;
    const old = this.#down;
    if (makeReader === null || listeners === null || old.writableLength > 0 || old.writableEnded || old.destroyed) return;
    this.#bulkReader = null;
    const wasPaused = old.isPaused();
    old.off('data', listeners.data);
    const reader = makeReader();
    const down = rewrapWithUserBuffer(old, reader);
    if (down === null) {
      old.on('data', listeners.data);
      return;
    }
    this.#up.off('drain', listeners.drain);
    old.off('end', listeners.end);
    old.off('close', listeners.close);
    this.#downDefault = null;
    this.#down = down;
    this.#pipeUserBuffer(down, reader, true);
    if (!wasPaused) down.resume();
    else {
      this.#up.once('drain', () => {
        if (down.destroyed) return;
        down.resume();
        this.#cb.onDownstreamFlowControl?.(false);
      });
    }
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
  #pipeUserBuffer(from: ByteStream, reader: UserBufferReader, downstreamSide: boolean): void {
    if (this.#pipelined) return this.#pipeLent(from, reader, downstreamSide);
    let overWatermark = false;
    const written = (err?: Error | null): void => {
      if (err || from.destroyed || this.#peer(downstreamSide).destroyed) return;
      from.resume();
      if (overWatermark) {
        overWatermark = false;
        this.#cb.onDownstreamFlowControl?.(false);
      }
    };
    reader.attach((n, buf) => {
      this.lastActivity = Date.now();
      if (downstreamSide) this.rxBytes += n;
      else this.txBytes += n;
      const to = this.#peer(downstreamSide);
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
    this.#pipeEnds(from, downstreamSide, reader);
  }

  /**
   * Pipelined: a read whose write is pending is lent to it (the reader reads on into another
   * buffer), and the reader is paused only once the peer has its buffer limit queued (Envoy's
   * per-connection buffer limit, default 1 MiB), resumed below half of it; queued reads go out in one
   * writev. Each write's callback gives its buffer back: one callback for the direction, not a
   * closure per write, over the direction's buffers in write order (Node calls a stream's
   * successful write callbacks in the order of the writes, and the downstream moves only with no
   * write pending, so the order holds across the move). An errored write's callback can come
   * before an earlier write's (a destroy errors the queued writes while one is still with the
   * kernel), so after an error the direction gives nothing back: its buffers go to the collector.
   */
  #pipeLent(from: ByteStream, reader: UserBufferReader, downstreamSide: boolean): void {
    let paused = false;
    const high = downstreamSide ? this.#limitToUp : this.#limitToDown;
    const low = high / 2;
    // The buffer each write not yet called back was read into, oldest first: the oldest in a
    // variable, the rest (only while writes queue up) in an array made then — most writes
    // complete at once on a short connection, and an array per direction was a backing store per
    // connection for the collector (null `first`: none pending, `more` empty).
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;
    let failed = false;
    const written = (err?: Error | null): void => {
      const buf = first;
      first = more !== null && more.length > 0 ? more.shift()! : null;
      if (err) failed = true;
      else if (!failed && buf !== null) reader.release(buf);
      if (!paused || from.destroyed) return;
      const to = this.#peer(downstreamSide);
      if (to.destroyed || to.writableLength > low) return;
      paused = false;
      from.resume();
      if (downstreamSide) this.#cb.onDownstreamFlowControl?.(false);
    };
    reader.attach((n, buf) => {
      this.lastActivity = Date.now();
      if (downstreamSide) this.rxBytes += n;
      else this.txBytes += n;
      const to = this.#peer(downstreamSide);
      if (to.destroyed) return false;
      if (first === null) first = buf;
      else (more ??= []).push(buf);
      to.write(buf.subarray(0, n), written);
      if (to.writableLength === 0) return false;
      if (!paused && to.writableLength >= high) {
        paused = true;
        from.pause();
        if (downstreamSide) this.#cb.onDownstreamFlowControl?.(true);
      }
      return true;
    }, from);
    this.#pipeEnds(from, downstreamSide, reader);
  }

  /** No byte either way for the idle timeout (called by the sweep): both sides closed. */
  idleOut(): void {
    if (this.end !== null) return;
    this.#cause ??= 'idle_timeout';
    // Envoy closes both with FlushWrite; a silent connection has nothing buffered.
    this.#down.destroy();
    this.#up.destroy();
  }

  #finish(): void {
    this.#idle?.delete(this);
    this.end = this.#cause ?? 'closed';
    this.#cb.onEnd(this);
  }
}
