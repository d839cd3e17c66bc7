// The seam under the byte proxy (tcp-proxy-session.ts, host/server/tcp-proxy-connection.ts):
// what it uses of a side of a proxied TCP connection — net.Socket's shape, the subset the
// session calls. A net.Socket is one (the socket transport, and every TLS or handed-in
// connection); a HandleSocket over Node's raw TCP handle is the other (handle-socket.ts).

/** One side of a proxied TCP connection. */
export interface ByteStream {
  readonly destroyed: boolean;
  /** The peer's FIN was read ('end' emitted). */
  readonly readableEnded: boolean;
  /** end() was called. */
  readonly writableEnded: boolean;
  /** Bytes written and not yet handed to the kernel. */
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end' | 'drain' | 'connect', listener: () => void): this;
  once(event: 'drain' | 'connect', listener: () => void): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'close', listener: (hadError: boolean) => void): this;
  off(event: 'end' | 'drain' | 'connect', listener: () => void): this;
  /**
   * Queues `chunk`; `cb` once it is handed to the kernel (or with the error that dropped it). False:
   * over the high-water mark ('drain' follows). `cb` may run before write() returns (a HandleSocket
   * whose bytes the kernel took at once; net.Socket defers it): callers must not rely on it coming later.
   */
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  /** Holds writes until uncork(), which sends them in one write (a writev). */
  cork(): void;
  uncork(): void;
  /** Sends a FIN once what is queued is written. */
  end(): this;
  destroy(): this;
  /** Closes with a RST. */
  resetAndDestroy(): this;
  pause(): this;
  resume(): this;
  isPaused(): boolean;
}
