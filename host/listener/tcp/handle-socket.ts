// One side of a proxied TCP connection on Node's raw TCP handle (tcp-handle-binding.ts) instead
// of a net.Socket: the ByteStream the session pipes (byte-stream.ts) with nothing of Node's
// stream machinery under it — no readable/writable state, no buffered chunks, no nextTick per
// write. What a net.Socket costs per connection (about 8 KB allocated each, two per proxied
// connection, and the scavenges they cause) is what this saves (docs/tcp.md).
//
// - reads go into the connection's UserBufferReader (the free-listed 16/256 KiB buffers the
//   socket transport's user-buffer path uses); the reader says after each read where the next
//   goes, returned to libuv from the read callback (Node's CustomBufferJSListener takes it);
// - writes are libuv writes of the caller's bytes (WriteWrap): libuv queues a write behind
//   pending ones itself, so order holds; a write that completed at once calls back at once;
//   between cork() and uncork() writes are held and go as one libuv writev (one syscall), as
//   net.Socket's cork does;
// - end(): a libuv shutdown, which libuv runs after the queued writes (the FIN after the bytes);
// - like net.Socket with allowHalfOpen and autoDestroy, the side closes once its FIN was read
//   and its own shutdown is done; an error closes it ('error', then 'close' with hadError);
// - resetAndDestroy(): uv_tcp_close_reset (SO_LINGER 0: a RST), a plain close if that is refused.
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { ByteStream } from './byte-stream.js';
import type { ShutdownReq, TcpHandle, TcpHandleBinding, WriteReq } from './tcp-handle-binding.js';
import { UserBufferReader } from './user-buffer-reader.js';

/** net.Socket's default writableHighWaterMark: write() returns false at or above it until 'drain'. */
const WRITE_HIGH_WATER = 16 * 1024;

/** A libuv error code as Node words its socket errors (`read ECONNRESET`). */
export function uvError(code: number, syscall: string): Error {
  const name = getSystemErrorName(code);
  return Object.assign(new Error(`${syscall} ${name}`), { code: name, errno: code, syscall });
}

interface PendingWrite extends WriteReq {
  owner: HandleSocket;
  cb: ((err?: Error | null) => void) | undefined;
  bytes: number;
}

interface PendingShutdown extends ShutdownReq {
  owner: HandleSocket;
}

function onRead(this: TcpHandle): Uint8Array | undefined {
  return (this.owner as HandleSocket).readDone();
}

function afterWrite(this: WriteReq, status: number): void {
  const req = this as PendingWrite;
  req.owner.writeDone(req, status);
}

function afterShutdown(this: ShutdownReq, status: number): void {
  (this as PendingShutdown).owner.shutdownDone(status);
}

export class HandleSocket extends EventEmitter implements ByteStream {
  readonly handle: TcpHandle;
  readonly #b: TcpHandleBinding;
  destroyed = false;
  readableEnded = false;
  writableEnded = false;
  writableLength = 0;
  /** An upstream whose connect is under way (no reading before it). */
  connecting = false;
  #writableFinished = false;
  #paused: boolean;
  #reading = false;
  #needDrain = false;
  /** Writes held since cork(), with their callbacks: one writev at uncork(). */
  #corked: { chunks: Uint8Array[]; cbs: Array<((err?: Error | null) => void) | undefined> } | null = null;
  #reader: UserBufferReader | null = null;
  #buf: Buffer | null = null;
  #reset = false;
  /** A shutdown is with libuv (a reset is refused then, and would leave the handle open: Node marks it closing first). */
  #shuttingDown = false;
  #peer: { address?: string; port?: number } | null = null;
  #local: { address?: string; port?: number } | null = null;
  /** The handle was handed to a net.Socket (toNetSocket): this object only forwards its close. */
  #movedTo: Socket | null = null;

  /**
   * Over `handle` (connected, or connecting: handle-connect.ts). `paused`: no read until
   * resume() (an accepted downstream, read once the upstream is there); else reads start at once
   * (or at connect).
   */
  constructor(binding: TcpHandleBinding, handle: TcpHandle, opts: { paused: boolean; reader?: UserBufferReader }) {
    super();
    this.#b = binding;
    this.handle = handle;
    this.#paused = opts.paused;
    this.#reader = opts.reader ?? null;
    handle.owner = this;
    handle.onread = onRead;
  }

  /** The reader this side reads into (made at the first read if none was given). */
  get reader(): UserBufferReader {
    return (this.#reader ??= new UserBufferReader({ pipelined: true }));
  }

  get remoteAddress(): string | undefined {
    return this.#peerName().address;
  }

  get remotePort(): number | undefined {
    return this.#peerName().port;
  }

  get localAddress(): string | undefined {
    return this.#localName().address;
  }

  get localPort(): number | undefined {
    return this.#localName().port;
  }

  #peerName(): { address?: string; port?: number } {
    if (this.#peer === null) {
      const out = {};
      if (!this.destroyed && this.handle.getpeername(out) !== 0) return out;
      this.#peer = out;
    }
    return this.#peer;
  }

  #localName(): { address?: string; port?: number } {
    if (this.#local === null) {
      const out = {};
      if (!this.destroyed && this.handle.getsockname(out) !== 0) return out;
      this.#local = out;
    }
    return this.#local;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  pause(): this {
    this.#paused = true;
    if (this.#reading) {
      this.#reading = false;
      this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.startReading();
    return this;
  }

  /** Reads start (or restart) unless paused, ended, closed or still connecting. */
  startReading(): void {
    if (this.#reading || this.#paused || this.readableEnded || this.destroyed || this.connecting) return;
    if (this.#buf === null) {
      this.#buf = this.reader.next();
      this.handle.useUserBuffer(this.#buf);
    }
    this.#reading = true;
    const err = this.handle.readStart();
    if (err !== 0) this.destroy(uvError(err, 'read'));
  }

  /** libuv's read callback (via the handle's onread): the bytes to the reader, EOF as 'end', an error closes. Returns the next buffer. */
  readDone(): Uint8Array | undefined {
    const nread = this.#b.readBytesOrError();
    if (nread > 0) {
      if (this.destroyed) return undefined;
      const reader = this.#reader!;
      reader.read(nread, this.#buf!);
      const next = reader.next();
      if (next === this.#buf) return undefined;
      this.#buf = next;
      return next;
    }
    if (nread === 0) return undefined;
    if (nread !== this.#b.UV_EOF) {
      this.destroy(uvError(nread, 'read'));
      return undefined;
    }
    this.#reading = false;
    this.handle.readStop();
    this.readableEnded = true;
    this.emit('end');
    this.#closeIfDone();
    return undefined;
  }

  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      const err = new Error(this.destroyed ? 'write after the socket was closed' : 'write after end');
      if (cb !== undefined) process.nextTick(cb, err);
      return false;
    }
    const corked = this.#corked;
    if (corked !== null) {
      // Counted as queued now (what write() returns and 'drain' follow from, as net.Socket's cork).
      corked.chunks.push(chunk);
      corked.cbs.push(cb);
      this.writableLength += chunk.length;
      if (this.writableLength < WRITE_HIGH_WATER) return true;
      this.#needDrain = true;
      return false;
    }
    const req = this.#writeReq(cb, chunk.length);
    const err = this.handle.writeBuffer(req, chunk);
    if (err !== 0) {
      this.destroy(uvError(err, 'write'));
      if (cb !== undefined) process.nextTick(cb, uvError(err, 'write'));
      return false;
    }
    if (!this.#b.lastWriteWasAsync()) {
      cb?.(null);
      return this.writableLength < WRITE_HIGH_WATER;
    }
    // Queued: the bytes stay referenced until libuv calls back.
    req.async = true;
    req.buffer = chunk;
    this.writableLength += chunk.length;
    if (this.writableLength < WRITE_HIGH_WATER) return true;
    this.#needDrain = true;
    return false;
  }

  /** libuv's write request for `bytes` of this socket, `cb` called when they are written. */
  #writeReq(cb: ((err?: Error | null) => void) | undefined, bytes: number): PendingWrite {
    const req = this.#b.newWriteReq() as PendingWrite;
    req.handle = this.handle;
    req.oncomplete = afterWrite;
    req.async = false;
    req.owner = this;
    req.cb = cb;
    req.bytes = bytes;
    return req;
  }

  /** Holds writes until uncork() (not nested: a second cork() is the same hold). */
  cork(): void {
    this.#corked ??= { chunks: [], cbs: [] };
  }

  /** Sends what was written since cork() as one libuv writev (a single write when one). */
  uncork(): void {
    const corked = this.#corked;
    if (corked === null) return;
    this.#corked = null;
    const n = corked.chunks.length;
    if (n === 0) return;
    let bytes = 0;
    for (const c of corked.chunks) bytes += c.length;
    // Counted at write(): write() or writeDone() counts it again.
    this.writableLength -= bytes;
    if (this.destroyed || this.writableEnded) {
      for (const cb of corked.cbs) if (cb !== undefined) process.nextTick(cb, new Error(this.destroyed ? 'write after the socket was closed' : 'write after end'));
      return;
    }
    const { cbs } = corked;
    const cb = (err?: Error | null): void => { for (const f of cbs) f?.(err); };
    if (n === 1) {
      this.write(corked.chunks[0]!, cb);
    } else {
      const req = this.#writeReq(cb, bytes);
      const err = this.handle.writev(req, corked.chunks, true);
      if (err !== 0) {
        this.destroy(uvError(err, 'write'));
        process.nextTick(cb, uvError(err, 'write'));
        return;
      }
      if (this.#b.lastWriteWasAsync()) {
        req.async = true;
        req.buffer = corked.chunks;
        this.writableLength += bytes;
        return;
      }
      cb(null);
    }
    // A write() that returned false while corked was promised a 'drain': after the caller has paused.
    if (this.#needDrain && this.writableLength === 0) {
      this.#needDrain = false;
      process.nextTick(() => { if (!this.destroyed) this.emit('drain'); });
    }
  }

  /** A queued write is done (libuv's callback): its callback, 'drain' once nothing is queued, an error closes. */
  writeDone(req: PendingWrite, status: number): void {
    this.writableLength -= req.bytes;
    req.buffer = undefined;
    if (status < 0) {
      const err = uvError(status, 'write');
      req.cb?.(err);
      this.destroy(err);
      return;
    }
    req.cb?.(null);
    if (this.#needDrain && this.writableLength === 0 && !this.destroyed) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  end(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    if (this.connecting) {
      this.once('connect', () => this.#shutdown());
      return this;
    }
    this.#shutdown();
    return this;
  }

  #shutdown(): void {
    const req = this.#b.newShutdownReq() as PendingShutdown;
    req.handle = this.handle;
    req.oncomplete = afterShutdown;
    req.owner = this;
    this.#shuttingDown = true;
    const err = this.handle.shutdown(req);
    if (err !== 0) this.destroy(uvError(err, 'shutdown'));
  }

  /** The FIN is sent (libuv's shutdown callback). */
  shutdownDone(status: number): void {
    this.#shuttingDown = false;
    if (this.destroyed) return;
    if (status < 0) {
      this.destroy(uvError(status, 'shutdown'));
      return;
    }
    this.#writableFinished = true;
    this.#closeIfDone();
  }

  /** Both directions over (FIN read, FIN sent): closed, as net.Socket's autoDestroy does. */
  #closeIfDone(): void {
    if (this.readableEnded && this.#writableFinished) this.destroy();
  }

  resetAndDestroy(): this {
    if (this.destroyed) return this;
    this.#reset = true;
    return this.destroy();
  }

  /** Closes the handle ('close' once libuv has closed it; with `err`: 'error' first, and hadError). */
  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (this.#movedTo !== null) {
      this.#movedTo.destroy();
      return this;
    }
    this.#reading = false;
    const done = (): void => {
      if (err !== undefined && this.listenerCount('error') > 0) this.emit('error', err);
      this.emit('close', err !== undefined);
    };
    // libuv refuses a reset with a shutdown under way (EINVAL), and Node's TCPWrap then counts
    // the handle as closing without closing it: a plain close then.
    if (this.#reset && !this.connecting && !this.#shuttingDown && this.handle.reset(done) === 0) return this;
    this.handle.close(done);
    return this;
  }

  /**
   * The handle handed to a net.Socket, paused (what net.Server makes of an accepted handle), for
   * what reads through Node's streams (the tls_inspector of a passthrough port); this object's
   * 'close' follows the new socket's and its destroy() destroys it.
   */
  toNetSocket(): Socket {
    if (this.#movedTo !== null) return this.#movedTo;
    const s = new Socket({ handle: this.handle as never, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as never);
    this.#movedTo = s;
    s.on('close', (hadError: boolean) => {
      this.destroyed = true;
      this.emit('close', hadError);
    });
    return s;
  }
}
