// Reads into one buffer of the connection's own instead of a fresh 64 KiB ArrayBuffer per read
// (Node's default stream_base allocation, which on a bulk TCP relay costs GC and page faults):
// net.connect's documented `onread: { buffer, callback }` option. The buffer is reused by the
// next read, so whoever takes the bytes must be done with them before reading resumes: the TCP
// session writes a view of it to the peer and pauses this socket while that write is pending
// (TcpProxySession#pipeUserBuffer). Given to net.connect for upstreams; accepted sockets get it
// by having their handle re-wrapped (user-buffer-downstream.ts: net.Server has no onread).
import type { NetConnectOpts, Socket } from 'node:net';

/** Bytes read per read call at most (Node's default allocation is the same 64 KiB). */
export const USER_READ_BUFFER_BYTES = 64 * 1024;

/** Called with each read: `n` bytes at the start of `buf`, valid until reading resumes. */
export type UserBufferSink = (n: number, buf: Buffer) => void;

export class UserBufferReader {
  readonly #buffer = Buffer.allocUnsafe(USER_READ_BUFFER_BYTES);
  #sink: UserBufferSink | null = null;
  /** Bytes read before a sink was attached (a server that speaks first, read at once): handed over on attach. */
  #early: Buffer[] = [];

  /** The `onread` option for net.connect. */
  get onread(): NonNullable<NetConnectOpts['onread']> {
    return {
      buffer: this.#buffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        const b = buf as Buffer;
        if (this.#sink !== null) this.#sink(n, b);
        else this.#early.push(Buffer.from(b.subarray(0, n)));
        return true;
      },
    };
  }

  /** Bytes read before this reader (another socket object's buffer): handed over first on attach. */
  early(chunks: readonly Buffer[]): void {
    if (chunks.length > 0) this.#early.unshift(...chunks);
  }

  /** From now on each read goes to `sink`; copies of what came before go first. */
  attach(sink: UserBufferSink, socket: Socket): void {
    this.#sink = sink;
    const early = this.#early;
    this.#early = [];
    for (const b of early) {
      if (socket.destroyed) return;
      sink(b.length, b);
    }
  }
}
