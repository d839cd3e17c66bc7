// Reading a captured connection's first bytes until they tell its protocol (detectProtocol), or,
// with a detection timeout (meshConfig protocolDetectionTimeout), until that passes with the
// client silent: a server-first protocol, taken as TCP. Shared by the sidecar's outbound and
// inbound captures. A client that half-closes before deciding is TCP (its FIN is passed on); one
// that leaves without a byte is dropped.
import type { Socket } from 'node:net';
import { detectProtocol, type DetectedProtocol } from '../listener/protocol-sniff.js';

/**
 * Sniffs `socket` (accepted paused); calls `decided` once with the protocol, the bytes read so
 * far (to hand on first) and whether the timeout decided; `gone` when the socket closed first.
 */
export function sniffFirstBytes(socket: Socket, timeoutMs: number, decided: (protocol: DetectedProtocol, first: Buffer, timedOut: boolean) => void, gone: () => void): void {
  let held: Buffer = Buffer.alloc(0);
  let timer: NodeJS.Timeout | null = null;
  const finish = (protocol: DetectedProtocol, timedOut: boolean): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    decided(protocol, held, timedOut);
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
    if (held.length === 0) return;
    const protocol = detectProtocol(held);
    if (protocol !== null) finish(protocol, false);
  };
  const onEnd = (): void => {
    if (held.length === 0) {
      socket.destroy();
      return;
    }
    finish('tcp', false);
  };
  const onClose = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    gone();
  };
  socket.on('error', () => socket.destroy());
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  if (timeoutMs > 0) {
    timer = setTimeout(() => {
      timer = null;
      finish('tcp', true);
    }, timeoutMs);
  }
}
