// A reset (RST) of either side of a byte proxy, whatever its socket: Node's resetAndDestroy only
// takes a socket over a TCP handle and throws on a TLS socket (its handle is the TLS wrap), which
// a sidecar's inbound TCP has once it terminated mesh mTLS. There the TCP socket underneath is
// reset and the TLS socket destroyed. A HandleSocket (the handle transport) resets its handle.
import type { Socket } from 'node:net';
import type { ByteStream } from './byte-stream.js';

/** Resets `socket` (a RST to its peer) and destroys it. */
export function resetSocket(socket: ByteStream): void {
  const tls = socket as ByteStream & { encrypted?: boolean; _parent?: Socket | null };
  if (tls.encrypted === true) {
    const parent = tls._parent ?? null;
    if (parent !== null && parent !== socket && !parent.destroyed) parent.resetAndDestroy();
    if (parent !== socket) {
      socket.destroy();
      return;
    }
  }
  socket.resetAndDestroy();
}
