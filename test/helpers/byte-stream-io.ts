// What the byte-proxy tests do at the ends of a proxied connection: collect what a socket
// receives, write a large buffer honouring backpressure, poll for a condition, checksum.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';

/** Everything `s` receives, and its FIN. */
export function collect(s: Socket): { data: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { data: () => Buffer.concat(chunks), ended: new Promise((r) => s.once('end', () => r())) };
}

/** Writes `data` on `s` in 64 KiB blocks, honouring backpressure; resolves once all is handed to the socket. */
export function writeAll(s: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let at = 0;
    const more = (): void => {
      while (at < data.length) {
        const block = data.subarray(at, at + 64 * 1024);
        at += block.length;
        if (!s.write(block)) return void s.once('drain', more);
      }
      resolve();
    };
    more();
  });
}

/** Resolves once `cond` holds (polled every 5 ms). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
