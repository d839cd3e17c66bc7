// The downstream side of an upgraded HTTP/1.1 connection (WebSocket) once the listener wrote the
// `101 Switching Protocols`: the connection's socket as a raw byte stream (a TunnelEnd). Bytes
// it carries count into the request's bytesReceived / bytesSent (the access log's
// %BYTES_RECEIVED% / %BYTES_SENT%) and keep the connection's lastActivity fresh, so the
// listener's stream idle sweep times the tunnel out as Envoy's stream_idle_timeout does.
import type { Socket } from 'node:net';
import type { TunnelEnd, TunnelSink } from '../../common/tunnel-end.js';

/** What the end needs of its connection and its request (Http1Connection, Http1Downstream). */
export interface TunnelOwner {
  readonly socket: Socket;
  lastActivity: number;
}
export interface TunnelCounters {
  bytesSent: number;
  bytesReceived: number;
}

const EMPTY = new Uint8Array(0);

export class Http1TunnelEnd implements TunnelEnd {
  readonly #owner: TunnelOwner;
  readonly #counters: TunnelCounters;
  #sink: TunnelSink | null = null;
  /** Bytes read before the sink was attached (those after the request head first). */
  #early: Uint8Array;
  #closed = false;

  constructor(owner: TunnelOwner, counters: TunnelCounters, early: Uint8Array) {
    this.#owner = owner;
    this.#counters = counters;
    this.#early = early;
  }

  attach(sink: TunnelSink): void {
    this.#sink = sink;
    const early = this.#early;
    this.#early = EMPTY;
    if (early.length > 0) this.onRead(early);
    if (!this.#closed) this.#owner.socket.resume();
  }

  /** @internal (connection) bytes read (the connection has refreshed lastActivity): a view valid only during the call. */
  onRead(bytes: Uint8Array): void {
    const sink = this.#sink;
    if (sink === null) {
      const joined = new Uint8Array(this.#early.length + bytes.length);
      joined.set(this.#early);
      joined.set(bytes, this.#early.length);
      this.#early = joined;
      return;
    }
    this.#counters.bytesReceived += bytes.length;
    sink.onData(bytes);
  }

  /** @internal (connection) the client half-closed. */
  onEnd(): void {
    this.#sink?.onEnd();
  }

  /** @internal (connection) the socket closed. */
  onClose(error: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink?.onClose(error);
  }

  /** @internal (connection) the socket drained. */
  onDrain(): void {
    this.#sink?.onDrain();
  }

  write(bytes: Uint8Array): boolean {
    const socket = this.#owner.socket;
    if (this.#closed || socket.destroyed) return true;
    this.#owner.lastActivity = performance.now();
    this.#counters.bytesSent += bytes.length;
    // A copy: `bytes` may be a view into a read buffer that the next read overwrites.
    return socket.write(Buffer.from(bytes));
  }

  pause(): void {
    this.#owner.socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#owner.socket.resume();
  }

  shutdown(): void {
    const socket = this.#owner.socket;
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  }

  reset(): void {
    this.#owner.socket.destroy();
  }
}
