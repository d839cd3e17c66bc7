// One TCP exchange as a client makes it: connect, send `text`, half-close, read until the
// other side's FIN, then close.
import { connect } from 'node:net';

/** The whole reply ('' when the connection was closed at once) and the socket error, if any. */
export function exchange(port: number, text: string, host = '127.0.0.1'): Promise<{ reply: string; error: string | null }> {
  return new Promise((resolve) => {
    const s = connect({ host, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let error: string | null = null;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ reply: Buffer.concat(chunks).toString(), error }));
    s.on('end', () => s.end());
    s.end(text);
  });
}
