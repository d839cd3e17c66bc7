// The upstream side of an upgraded HTTP/1.1 exchange (WebSocket) once the endpoint answered
// `101 Switching Protocols`: the pooled connection's socket as a raw byte stream (a TunnelEnd).
// The connection is taken from its pool for good: it stays counted among the cluster's active
// connections (upstream_cx_active, the connection limit) until the socket closes, and is never
// reused. Bytes count into upstream_cx_rx_bytes_total / upstream_cx_tx_bytes_total.
import type { Socket } from 'node:net';
import type { TunnelEnd, TunnelSink } from '../../../common/tunnel-end.js';
import type { ClusterStats } from '../../../telemetry/stats.js';

const EMPTY = new Uint8Array(0);

export class UpstreamTunnelEnd implements TunnelEnd {
  readonly #socket: Socket;
  readonly #stats: ClusterStats;
  #sink: TunnelSink | null = null;
  /** Bytes that followed the 101 head in its read, then any read before attach. */
  #early: Uint8Array;
  #closed = false;
  #closeError = false;

  constructor(socket: Socket, stats: ClusterStats, early: Uint8Array) {
    this.#socket = socket;
    this.#stats = stats;
    this.#early = early;
  }

  attach(sink: TunnelSink): void {
    this.#sink = sink;
    const early = this.#early;
    this.#early = EMPTY;
    if (early.length > 0) sink.onData(early);
    if (this.#closed) sink.onClose(this.#closeError);
  }

  /** @internal (connection) bytes read: a view valid only during the call. */
  onRead(bytes: Uint8Array): void {
    const sink = this.#sink;
    if (sink !== null) {
      sink.onData(bytes);
      return;
    }
    const joined = new Uint8Array(this.#early.length + bytes.length);
    joined.set(this.#early);
    joined.set(bytes, this.#early.length);
    this.#early = joined;
  }

  /** @internal (connection) the endpoint half-closed. */
  onEnd(): void {
    this.#sink?.onEnd();
  }

  /** @internal (connection) the socket closed (or the pool destroyed it). */
  onClose(error: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#sink?.onClose(error);
  }

  /** @internal (connection) the socket drained. */
  onDrain(): void {
    this.#sink?.onDrain();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed || this.#socket.destroyed) return true;
    this.#stats.inc('upstream_cx_tx_bytes_total', bytes.length);
    // A copy: `bytes` may be a view into a read buffer that the next read overwrites.
    return this.#socket.write(Buffer.from(bytes));
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  shutdown(): void {
    if (!this.#socket.destroyed && !this.#socket.writableEnded) this.#socket.end();
  }

  reset(): void {
    this.#socket.destroy();
  }
}
