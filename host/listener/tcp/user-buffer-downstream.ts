// An accepted socket re-wrapped to read into a buffer of the connection's own, as the upstream
// does with net.connect's `onread` (user-buffer-reader.ts). net.Server has no `onread` for the
// sockets it accepts, so every downstream read allocated a fresh 64 KiB backing store (on a bulk
// relay: the garbage collector's largest share of the proxy's CPU). Node's net.Socket constructor
// does take `onread` together with a `handle` (the option net.Server itself uses to wrap each
// accepted handle): the accepted socket's handle, not yet reading (pauseOnConnect) or stopped, is
// moved to a new net.Socket built with the reader's `onread`, and the old socket object is left
// without a handle.
//
// What the old socket still holds is carried over:
// - bytes read and put back before the session (the tls_inspector's ClientHello, the sidecar's
//   sniffed first bytes): read out of it and handed to the reader as its early bytes, forwarded
//   first;
// - its place in the listener's bookkeeping (net.Server's connection count for maxConnections,
//   TcpListener's open set, closeAll): the old socket is destroyed when the new one closes, and a
//   destroy of the old one (closeAll) destroys the new one.
// Not re-wrapped (null: the caller keeps the socket and Node's own reads): a socket whose end of
// stream was already read (the FIN must still be passed on in order, which Node's path does), one
// without a TCP handle (a pipe, a test double, a TLS socket that terminated mesh mTLS), or when Node's internals are not as expected
// (`_handle`, `useUserBuffer`, `readStop`: undocumented, checked, so a Node that changes them
// falls back rather than breaks).
import { Socket } from 'node:net';
import type { UserBufferReader } from './user-buffer-reader.js';
import type { ByteStream } from './byte-stream.js';

/** The parts of Node's stream handle this relies on (lib/net.js, src/stream_base.cc). */
interface StreamHandle {
  reading?: boolean;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
}

interface SocketInternals {
  _handle: StreamHandle | null;
  _readableState?: { ended?: boolean };
}

/**
 * `socket` (accepted, paused) as a socket reading into `reader`'s buffer, with any bytes it had
 * buffered handed to the reader first; null when it cannot be re-wrapped (see the file comment).
 * After a non-null return the old socket must not be read or written; the new one carries
 * `allowHalfOpen` and `noDelay` as the listener set them.
 */
export function rewrapWithUserBuffer(stream: ByteStream, reader: UserBufferReader): Socket | null {
  // A side on the handle transport (handle-socket.ts) reads into its own buffer from the start.
  if (!(stream instanceof Socket)) return null;
  const socket = stream;
  const old = socket as unknown as SocketInternals;
  // A TLS socket's handle is the TLS wrap, whose reads are decrypted records, not the socket's.
  if ((socket as Socket & { encrypted?: boolean }).encrypted === true) return null;
  const handle = old._handle;
  if (handle === null || handle === undefined || socket.destroyed || socket.connecting) return null;
  if (typeof handle.useUserBuffer !== 'function' || typeof handle.readStop !== 'function') return null;
  const state = old._readableState;
  if (state === undefined || state.ended !== false) return null;
  socket.pause();
  // Bytes put back (unshift) or read ahead while paused: taken out, in order. read() may restart
  // the handle's reading (Readable asks for more below its high-water mark); it is stopped below,
  // in the same tick, before libuv could read.
  const early: Buffer[] = [];
  if (socket.readableLength > 0) {
    for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) early.push(c);
  }
  if (state.ended !== false) {
    // Cannot happen synchronously (EOF arrives from libuv), but if it did the bytes are gone: refuse.
    return null;
  }
  handle.readStop();
  handle.reading = false;
  old._handle = null;
  const down = new Socket({ handle, allowHalfOpen: true, onread: reader.onread } as ConstructorParameters<typeof Socket>[0]);
  // The constructor starts reading (read(0)); the session resumes it when it is ready.
  down.pause();
  reader.early(early);
  down.once('close', () => socket.destroy());
  socket.once('close', () => down.destroy());
  return down;
}
