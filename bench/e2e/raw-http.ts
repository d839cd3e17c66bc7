// One HTTP/1.1 request on a socket the caller opened (plain TCP or TLS), read up to the end of
// its response (Content-Length), the socket left open: what the mTLS mode's checks and its idle
// connections need without an HTTP client's pooling deciding which connection carries what.
import type { Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyBytes: number;
}

/** Sends `GET path` with `headers` on `socket` and resolves with the response; rejects on close, error or `timeoutMs`. */
export function exchange(socket: Socket, path: string, headers: Record<string, string>, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, res?: RawResponse): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(res!);
    };
    const onData = (b: Buffer): void => {
      buf = Buffer.concat([buf, b]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
      if (!status) return done(new Error(`not an HTTP response: ${JSON.stringify(lines[0]!.slice(0, 80))}`));
      const hs: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i <= 0) continue;
        const k = l.slice(0, i).trim().toLowerCase();
        const v = l.slice(i + 1).trim();
        hs[k] = hs[k] === undefined ? v : `${hs[k]}, ${v}`;
      }
      const length = Number(hs['content-length'] ?? 0);
      const body = buf.length - end - 4;
      if (body >= length) done(null, { status, headers: hs, bodyBytes: body });
    };
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error(buf.length ? `closed mid-response after ${buf.length} bytes` : 'closed without a response'));
    const timer = setTimeout(() => done(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    const head = Object.entries({ host: 'bench', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`GET ${path} HTTP/1.1\r\n${head}\r\n`);
  });
}
