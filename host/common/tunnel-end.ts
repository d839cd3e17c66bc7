// One side of an upgraded connection (WebSocket, HTTP/1.1 Upgrade) once HTTP is over on it: a
// raw byte stream. The downstream listener and the upstream HTTP/1 connection each give one up
// after a `101 Switching Protocols`; http/upgrade-tunnel.ts joins two of them. Declared here
// (the lowest layer) because listener and upstream stand at one rank and neither may import
// the other nor http.

/** What a tunnel end reports to the tunnel. */
export interface TunnelSink {
  /** Bytes read: a view valid only during the call (the thread's read buffer). */
  onData(bytes: Uint8Array): void;
  /** The peer half-closed (FIN): nothing more will be read from this end. */
  onEnd(): void;
  /** The socket closed; `error`: it was reset or failed rather than closed in order. */
  onClose(error: boolean): void;
  /** What was written and not yet sent has gone: the other end may read again. */
  onDrain(): void;
}

export interface TunnelEnd {
  /**
   * Starts delivering to `sink`: first the bytes already read past the HTTP head (a frame the
   * peer sent right after it), then each read.
   */
  attach(sink: TunnelSink): void;
  /** Writes bytes (copied: the caller may reuse them); false under backpressure (wait for onDrain). */
  write(bytes: Uint8Array): boolean;
  /** Stops and resumes reading (backpressure from the other end). */
  pause(): void;
  resume(): void;
  /** Half-closes: a FIN once what was written is sent. */
  shutdown(): void;
  /** Closes at once (reset). */
  reset(): void;
}
