// The byte tunnel of an upgraded request (WebSocket over HTTP/1.1): after the 101, the
// downstream and upstream connections are joined as raw byte streams (two TunnelEnds). Data
// flows both ways with backpressure (a side whose peer cannot take more stops reading until
// that peer drains), a half-close (FIN) goes across, a reset goes across as a reset, and the
// tunnel is over as soon as either socket closed: the other one is ended in order after a
// clean close (what was written still goes out), destroyed after a reset.
//
// The idle timeout is the listener's stream idle timeout (Envoy applies stream_idle_timeout to
// upgraded streams): every byte either way passes the downstream socket and keeps it fresh.
import type { TunnelEnd, TunnelSink } from '../common/tunnel-end.js';

/** How a tunnel ended. */
export type TunnelClose =
  /** Closed in order (FIN both ways, or one side closed cleanly). */
  | 'closed'
  /** The downstream (client) connection was reset or failed. */
  | 'downstream_reset'
  /** The upstream connection was reset or failed. */
  | 'upstream_reset'
  /** The proxy closed it (idle timeout, stream reset, shutdown). */
  | 'local_reset';

export interface TunnelCallbacks {
  /** Once, when the tunnel is over. */
  onTunnelClosed(how: TunnelClose): void;
}

/** One direction of the tunnel: reads from `from`, writes to `to`. */
class Direction implements TunnelSink {
  readonly #tunnel: UpgradeTunnel;
  readonly #from: TunnelEnd;
  readonly #to: TunnelEnd;
  readonly #downstream: boolean;
  /** `from` is paused because `to` did not take its last write. */
  paused = false;
  ended = false;
  bytes = 0;

  constructor(tunnel: UpgradeTunnel, from: TunnelEnd, to: TunnelEnd, downstream: boolean) {
    this.#tunnel = tunnel;
    this.#from = from;
    this.#to = to;
    this.#downstream = downstream;
  }

  /** The other direction (its sink hears the drains of the end this one writes to). */
  peer: Direction | null = null;

  onData(bytes: Uint8Array): void {
    if (this.#tunnel.done) return;
    this.bytes += bytes.length;
    if (!this.#to.write(bytes) && !this.paused) {
      this.paused = true;
      this.#from.pause();
    }
  }

  onEnd(): void {
    if (this.ended || this.#tunnel.done) return;
    this.ended = true;
    this.#to.shutdown();
  }

  onClose(error: boolean): void {
    this.#tunnel.closedBy(this.#downstream, error);
  }

  /** `from` drained: the direction writing into it may read again. */
  onDrain(): void {
    const p = this.peer!;
    if (p.paused && !this.#tunnel.done) {
      p.paused = false;
      p.#from.resume();
    }
  }
}

export class UpgradeTunnel {
  readonly #down: TunnelEnd;
  readonly #up: TunnelEnd;
  readonly #callbacks: TunnelCallbacks;
  readonly #fromDownstream: Direction;
  readonly #fromUpstream: Direction;
  done = false;

  constructor(down: TunnelEnd, up: TunnelEnd, callbacks: TunnelCallbacks) {
    this.#down = down;
    this.#up = up;
    this.#callbacks = callbacks;
    this.#fromDownstream = new Direction(this, down, up, true);
    this.#fromUpstream = new Direction(this, up, down, false);
    this.#fromDownstream.peer = this.#fromUpstream;
    this.#fromUpstream.peer = this.#fromDownstream;
  }

  /** Bytes carried client → upstream and upstream → client. */
  get bytesFromDownstream(): number {
    return this.#fromDownstream.bytes;
  }
  get bytesFromUpstream(): number {
    return this.#fromUpstream.bytes;
  }

  /** Starts the flow: each end first delivers what it read past its HTTP head. */
  start(): void {
    this.#up.attach(this.#fromUpstream);
    if (!this.done) this.#down.attach(this.#fromDownstream);
  }

  /** The proxy closes the tunnel (idle timeout, stream reset, shutdown): both sockets go. */
  reset(): void {
    if (this.done) return;
    this.#finish('local_reset');
    this.#down.reset();
    this.#up.reset();
  }

  /** @internal (Direction) the socket of one side closed. */
  closedBy(downstream: boolean, error: boolean): void {
    if (this.done) return;
    const other = downstream ? this.#up : this.#down;
    if (error) other.reset();
    else other.shutdown();
    this.#finish(!error ? 'closed' : downstream ? 'downstream_reset' : 'upstream_reset');
  }

  #finish(how: TunnelClose): void {
    this.done = true;
    this.#callbacks.onTunnelClosed(how);
  }
}
