// The plain-TCP downstream transport: the accepted socket's handle moves into a socket that
// reads through `onread` into one buffer per thread (net.Server has no onread option of its own),
// so no Buffer is made per read. The first socket object is dropped without closing the fd.
import { Socket } from 'node:net';
import type { ConnectionReader, ConnectionStart, DownstreamTransport } from './downstream-transport.js';

/** The read buffer of every raw downstream socket of this thread (reads are consumed synchronously). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The OS handle inside a net.Socket (Node keeps it as `_handle`). */
interface SocketWithHandle extends Socket {
  _handle: unknown;
}

export class RawDownstreamTransport implements DownstreamTransport {
  readonly kind = 'raw';

  accept(accepted: Socket, start: ConnectionStart): void {
    this.acceptWith(accepted, start, null);
  }

  /**
   * As accept, with bytes already read from the socket (a sniffed first read) handed to the
   * connection before any other, and the security to report (PLAINTEXT on a permissive port).
   */
  acceptWith(accepted: Socket, start: ConnectionStart, security: Parameters<ConnectionStart>[1], first?: Uint8Array): void {
    const a = accepted as SocketWithHandle;
    const handle = a._handle;
    a._handle = null;
    // The emptied socket still counts as the server's connection until destroyed (no fd closes).
    a.destroy();
    let reader: ConnectionReader | null = null;
    const socket = new Socket({
      handle: handle as never,
      readable: true,
      writable: true,
      allowHalfOpen: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          reader!.onRead(buf.subarray(0, n));
          return true;
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    socket.setNoDelay(true);
    reader = start(socket, security);
    // Resumed first: the connection may pause reading while it takes the sniffed bytes.
    socket.resume();
    if (first !== undefined && first.length > 0) reader.onRead(first);
  }

  close(): void {}
}

export const RAW_DOWNSTREAM: RawDownstreamTransport = new RawDownstreamTransport();
