// A reset (RST) of either side of a byte proxy, whatever its socket: Node's resetAndDestroy only
// takes a socket over a TCP handle and throws on a TLS socket (its handle is the TLS wrap), which
// a sidecar's inbound TCP has once it terminated mesh mTLS. There the TCP socket underneath is
// reset and the TLS socket destroyed.
import type { Socket } from 'node:net';

/** Resets `socket` (a RST to its peer) and destroys it. */
export function resetSocket(socket: Socket): void {
  const parent = (socket as Socket & { encrypted?: boolean; _parent?: Socket | null }).encrypted === true
    ? (socket as Socket & { _parent?: Socket | null })._parent ?? null
    : socket;
  if (parent !== socket) {
    if (parent !== null && !parent.destroyed) parent.resetAndDestroy();
    socket.destroy();
    return;
  }
  socket.resetAndDestroy();
}
