// A ProxyServer (plain, or TLS by ALPN) in front of a node:http HTTP/1.1 upstream that echoes
// what it got, for the HTTP/2 listener's suites; and small node:http2 client helpers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../../host/telemetry/access-log.js';
import type { DownstreamTransportConfig } from '../../../host/tls/tls-settings.js';
import type { Limits } from '../../../host/common/limits.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import type { Http2Codec } from '../../../host/listener/http2-listener-kind.js';

export const HOST = 'svc.test';

/** What the upstream saw of one request. */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export interface H2Rig {
  proxy: ProxyServer;
  upstreamPort: number;
  seen: Seen[];
  logs: AccessLogEntry[];
  close(): Promise<void>;
}

/**
 * The upstream: `/big/<n>` answers n bytes (streamed in 64 KiB writes, honouring backpressure),
 * `/die` sends half its announced body and drops the connection, `/slow` answers headers and then one chunk per 50 ms for ever, `/hold` never answers;
 * everything else answers JSON describing the request once its body is read.
 */
function upstream(seen: Seen[]): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let bodyBytes = 0;
    req.on('data', (d: Buffer) => (bodyBytes += d.length));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, bodyBytes });
      const big = /^\/big\/(\d+)$/.exec(req.url!);
      if (big) {
        let left = Number(big[1]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      if (req.url === '/slow') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const t = setInterval(() => res.write('tick\n'), 50);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url === '/hold') return;
      if (req.url === '/die') {
        // Half a body of the length announced, then the connection drops.
        res.writeHead(200, { 'content-length': '100000' });
        res.write(Buffer.alloc(50_000, 0x62), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      const body = JSON.stringify({ method: req.method, url: req.url, bodyBytes, host: req.headers.host });
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'x-up': 'yes', 'set-cookie': ['a=1', 'b=2'] });
      res.end(body);
    });
  });
}

export async function startH2Rig(opts: { limits?: Partial<Limits>; transport?: DownstreamTransportConfig; http2Codec?: Http2Codec } = {}): Promise<H2Rig> {
  const seen: Seen[] = [];
  const up = upstream(seen);
  up.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const upstreamPort = (up.address() as AddressInfo).port;
  const logs: AccessLogEntry[] = [];
  const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 100, ...opts.limits }, seed: 1, downstreamTransport: opts.transport, http2Codec: opts.http2Codec });
  const m = mesh([{ name: 'backend', ports: [upstreamPort] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]);
  proxy.apply(m, 1);
  await proxy.listen();
  return {
    proxy, upstreamPort, seen, logs,
    close: async () => {
      await proxy.close();
      up.closeAllConnections();
      await new Promise<void>((r) => up.close(() => r()));
    },
  };
}

export interface H2Response {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | null;
}

/** One request on `session`, the whole answer read. */
export function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':authority': HOST, ...headers }, { endStream: body === undefined });
    const parts: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | null = null;
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve({ headers: head, body: Buffer.concat(parts), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

export function h2c(port: number): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  return s;
}

export async function closeSession(s: ClientHttp2Session): Promise<void> {
  if (s.closed || s.destroyed) return;
  await new Promise<void>((r) => s.close(() => r()));
}
