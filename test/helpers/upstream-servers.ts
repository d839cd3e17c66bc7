// Real upstream servers for data-path tests: a node:http server that counts connections, and
// a raw TCP server for misbehaviour (resets, split heads, bad heads) a well-behaved server
// cannot produce.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface HttpUpstream {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Sockets currently open. */
  open: Set<net.Socket>;
  /** Requests seen, with their headers (lower-case names). */
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[] }>;
  server: http.Server;
  close(): Promise<void>;
}

export async function startHttpUpstream(handler: http.RequestListener, opts: { keepAliveTimeout?: number; maxHeaderSize?: number } = {}): Promise<HttpUpstream> {
  const up: HttpUpstream = {
    port: 0,
    connections: 0,
    open: new Set(),
    requests: [],
    server: http.createServer({ maxHeaderSize: opts.maxHeaderSize ?? 80 * 1024 }, (req, res) => {
      up.requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders });
      handler(req, res);
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of up.open) s.destroy();
        up.server.close(() => resolve());
      }),
  };
  if (opts.keepAliveTimeout !== undefined) up.server.keepAliveTimeout = opts.keepAliveTimeout;
  up.server.on('connection', (s: net.Socket) => {
    up.connections++;
    up.open.add(s);
    s.on('close', () => up.open.delete(s));
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.port = (up.server.address() as AddressInfo).port;
  return up;
}

export interface RawUpstream {
  port: number;
  connections: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

/** A TCP server whose connections are handed to `onConnection` as they arrive. */
export async function startRawUpstream(onConnection: (socket: net.Socket, index: number) => void): Promise<RawUpstream> {
  const up: RawUpstream = {
    port: 0,
    connections: 0,
    sockets: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of up.sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((s) => {
    s.on('error', () => {});
    up.sockets.push(s);
    onConnection(s, up.connections++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as AddressInfo).port;
  return up;
}

/** Reads one request head from a raw socket (resolves with the head text and any extra bytes). */
export function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed before a head')));
  });
}
