// Reads into a buffer of the connection's own instead of a fresh 64 KiB ArrayBuffer per read
// (Node's default stream_base allocation, which on a bulk TCP relay costs GC and page faults):
// the `onread: { buffer, callback }` option of net.connect and of the net.Socket constructor.
// The buffer is reused by the next read, so whoever takes the bytes must be done with them before
// reading resumes: the TCP session writes a view of it to the peer and pauses this socket while
// that write is pending (TcpProxySession#pipeUserBuffer). Given to net.connect for upstreams;
// accepted sockets get it by having their handle re-wrapped (user-buffer-downstream.ts: net.Server
// has no onread).
//
// Two sizes, as Envoy's buffers grow with the traffic instead of being sized for the worst case:
// a connection starts with a small buffer of its own (16 KiB: Envoy's read slice), and a read
// that fills it moves the connection to a large one (256 KiB) from a process-wide free list; a
// read of no more than the small size, while no write holds the large buffer, moves it back and
// frees the large one for another connection. So a bulk stream reads up to 256 KiB per syscall
// (fewer reads and writes per byte), and an idle or interactive connection (a database pool,
// Redis) holds 16 KiB per direction, not 256. `onread.buffer` as a function is Node's documented
// way to change the buffer between reads: it is asked for the next buffer after each read.
//
// Pipelined (what TcpProxyServer uses): a read whose write is still pending does not stop the
// reader; its buffer is lent to that write and the next read goes into another large buffer from
// the free list; the write's callback gives it back (`release`). The session bounds how much is
// lent by pausing the reader at Envoy's per-connection buffer limit (tcp-proxy-session.ts).
//
// The small buffers are pooled too: each connection used to allocate its own 16 KiB backing store
// (outside the JavaScript heap), which on short connections (connect, a few bytes, close) was a
// steady stream of external memory for the collector. A reader takes its small buffer from a
// process-wide free list and gives its buffers back when its socket closes — only those no write
// still holds (the buffer of the last read while a write of it is pending, or one lent to a
// pending write, is left to the collector: a write that ended with an error gives nothing back).
import type { NetConnectOpts } from 'node:net';
import type { ByteStream } from './byte-stream.js';

/** A connection's own buffer, and the most a read of a quiet connection brings. */
export const SMALL_READ_BYTES = 16 * 1024;
/** The buffer of a connection whose reads fill the small one (a bulk stream). */
export const LARGE_READ_BYTES = 256 * 1024;
/** Free large buffers kept for the next bulk connection at most (beyond: left to the collector). */
export const LARGE_POOL_MAX = 32;
/** Free small buffers kept for the next connections at most (256 × 16 KiB = 4 MiB). */
export const SMALL_POOL_MAX = 256;

/**
 * Called with each read: `n` bytes at the start of `buf`, valid until reading resumes. Returns
 * true when the bytes are still referenced after it returns (a pending write of a view of them;
 * the sink has paused the socket until it is done), so the buffer is not given to anyone else.
 */
export type UserBufferSink = (n: number, buf: Buffer) => boolean;

const freeLarge: Buffer[] = [];
const freeSmall: Buffer[] = [];

/** Large buffers on the free list (tests). */
export function freeLargeBuffers(): number {
  return freeLarge.length;
}

/** Small buffers on the free list (tests). */
export function freeSmallBuffers(): number {
  return freeSmall.length;
}

export class UserBufferReader {
  readonly #small = freeSmall.pop() ?? Buffer.allocUnsafeSlow(SMALL_READ_BYTES);
  #current: Buffer = this.#small;
  /** The last read: its size, and whether the sink still references it. */
  #lastRead = 0;
  #held = false;
  /** The buffer of the last read (what #held is about). */
  #lastBuf: Buffer | null = null;
  /** Buffers a pending write still holds while this reader reads on into another (pipelined). */
  readonly #lent: Buffer[] = [];
  readonly #pipelined: boolean;
  #sink: UserBufferSink | null = null;
  /** Bytes read before a sink was attached (a server that speaks first, read at once): handed over on attach (null: none, the usual case). */
  #early: Buffer[] | null = null;
  /** The socket closed: buffers released from now on go back to the free lists (small ones too). */
  #closed = false;

  /**
   * pipelined: a read whose write is still pending does not stop this reader; the next read goes
   * into another buffer (from the free list), and the held one comes back with `release`.
   */
  constructor(opts: { pipelined?: boolean } = {}) {
    this.#pipelined = opts.pipelined === true;
  }

  /** The write of a view of `buf` is done: a buffer lent to it is free again (pipelined). */
  release(buf: Buffer): void {
    const i = this.#lent.indexOf(buf);
    if (i < 0) return;
    this.#lent.splice(i, 1);
    if (buf !== this.#small) free(buf);
    else if (this.#closed) free(buf);
  }

  /** The `onread` option for net.connect / new net.Socket (a HandleSocket calls next() and read() itself). */
  get onread(): NonNullable<NetConnectOpts['onread']> {
    return {
      buffer: () => this.next(),
      callback: (n: number, buf: Uint8Array): boolean => {
        this.read(n, buf as Buffer);
        return true;
      },
    };
  }

  /** `n` bytes were read into the start of `buf` (the buffer next() gave): to the sink, or kept until attach. */
  read(n: number, buf: Buffer): void {
    this.#lastRead = n;
    this.#lastBuf = buf;
    if (this.#sink !== null) this.#held = this.#sink(n, buf);
    else {
      this.#held = false;
      (this.#early ??= []).push(Buffer.from(buf.subarray(0, n)));
    }
  }

  /** Buffers lent to writes not yet done (tests). */
  get lentBuffers(): number {
    return this.#lent.length;
  }

  /** The buffer this connection reads into now (tests). */
  get bufferBytes(): number {
    return this.#current.length;
  }

  /** Bytes read before this reader (another socket object's buffer): handed over first on attach. */
  early(chunks: readonly Buffer[]): void {
    if (chunks.length > 0) (this.#early ??= []).unshift(...chunks);
  }

  /**
   * From now on each read goes to `sink`; copies of what came before go first. Whoever attaches
   * calls close() once `socket` has closed (the session, from its own 'close' listener: no
   * listener of the reader's own per connection).
   */
  attach(sink: UserBufferSink, socket: ByteStream): void {
    this.#sink = sink;
    const early = this.#early;
    if (early === null) return;
    this.#early = null;
    for (const b of early) {
      if (socket.destroyed) return;
      sink(b.length, b);
    }
  }

  /**
   * The socket closed (no more reads): its buffers go back to the free lists, except one a write
   * still holds (the last read's, while held, and those lent), which release() gives back later.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const held = this.#held ? this.#lastBuf : null;
    const cur = this.#current;
    if (cur !== this.#small && cur !== held && !this.#lent.includes(cur)) free(cur);
    if (this.#small !== held && !this.#lent.includes(this.#small)) free(this.#small);
  }

  /** Where the next read goes (Node asks after each read, and once at the start). */
  next(): Buffer {
    const cur = this.#current;
    if (this.#pipelined && this.#held) {
      // The buffer just read into is lent to a pending write: read on into another one.
      this.#lent.push(cur);
      this.#held = false;
      this.#lastRead = 0;
      this.#current = freeLarge.pop() ?? Buffer.allocUnsafeSlow(LARGE_READ_BYTES);
      return this.#current;
    }
    if (cur === this.#small) {
      if (this.#lastRead === cur.length) this.#current = freeLarge.pop() ?? Buffer.allocUnsafeSlow(LARGE_READ_BYTES);
    } else if (this.#lastRead <= SMALL_READ_BYTES && !this.#held && !this.#lent.includes(this.#small)) {
      // A quiet read, and no write holds the large buffer: it goes to the next bulk connection.
      free(cur);
      this.#current = this.#small;
    }
    this.#lastRead = 0;
    return this.#current;
  }
}

/** `buf` (no longer referenced by any read or write) to its free list, if that has room. */
function free(buf: Buffer): void {
  if (buf.length === SMALL_READ_BYTES) {
    if (freeSmall.length < SMALL_POOL_MAX) freeSmall.push(buf);
  } else if (freeLarge.length < LARGE_POOL_MAX) freeLarge.push(buf);
}
