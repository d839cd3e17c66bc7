// WebSocket over HTTP/2 (RFC 8441) for tests, both ends: an h2c client session that opens an
// extended CONNECT (:protocol websocket) and runs WebSocket frames (ws's own Sender and Receiver)
// on its stream, and an h2c server that advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and echoes
// WebSocket messages on such streams. Shared by the wasmesh proxy tests
// (test/integration/websocket-h2*.test.ts) and the interop table (test/interop/websocket-planes.test.ts).
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Receiver, Sender } from 'ws';

/** Cleanups a test registers (run in reverse after it). */
export type Closers = Array<() => Promise<void> | void>;

export interface H2WebSocket {
  status: number;
  headers: http2.IncomingHttpHeaders;
  stream: http2.ClientHttp2Stream;
  send(data: Buffer | string, binary?: boolean): void;
  close(code: number): void;
  messages: Array<{ data: Buffer; binary: boolean }>;
  /** The close frame the server sent back (code), once it came. */
  closeCode: number | null;
  ended: Promise<void>;
}

/** An h2c session to 127.0.0.1:`port`, once the server's SETTINGS arrived. */
export async function h2cSession(port: number, closers: Closers): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  closers.push(() => void s.destroy());
  await new Promise<void>((resolve) => s.once('remoteSettings', () => resolve()));
  return s;
}

/** RFC 8441 §4: CONNECT with :protocol websocket; the answer's :status, then frames both ways (without `frames`, the caller reads the stream). */
export async function openH2WebSocket(s: http2.ClientHttp2Session, path = '/chat', frames = true, authority = 'svc.test'): Promise<H2WebSocket> {
  const stream = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': path, ':authority': authority, 'sec-websocket-version': '13' }, { endStream: false });
  stream.on('error', () => {});
  const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('close', () => reject(new Error(`stream closed before a response (rst ${stream.rstCode})`)));
  });
  const receiver = new Receiver({ isServer: false, maxPayload: 64 * 1024 * 1024 });
  const sender = new Sender(stream);
  const ws: H2WebSocket = {
    status: Number(headers[':status']), headers, stream, messages: [], closeCode: null,
    send: (data, binary = false) => sender.send(typeof data === 'string' ? Buffer.from(data) : data, { binary, fin: true, mask: true, compress: false, rsv1: false }, () => {}),
    close: (code) => sender.close(code, '', true, () => {}),
    ended: new Promise<void>((resolve) => stream.once('end', () => resolve())),
  };
  receiver.on('message', (data: Buffer, binary: boolean) => ws.messages.push({ data: Buffer.from(data), binary }));
  receiver.on('conclude', (code: number) => (ws.closeCode = code));
  receiver.on('error', () => {});
  if (frames) stream.pipe(receiver);
  return ws;
}

export interface H2UpstreamSeen { method: string; protocol: string | undefined; path: string; authority: string | undefined }

/**
 * An h2c server on 127.0.0.1; with `connect` it advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and
 * extended CONNECT websocket streams echo WebSocket messages (close codes echoed, then the stream
 * ends); `refuse` answers them with that status instead; other requests get 426. With
 * `acceptFromKey`, a CONNECT that carries a Sec-WebSocket-Key is answered with its
 * Sec-WebSocket-Accept (what a proxy hop in front of an HTTP/1.1 WebSocket server passes back;
 * a native RFC 8441 server sends none).
 */
export async function h2WebSocketUpstream(opts: { connect: boolean; refuse?: number; acceptFromKey?: boolean }, closers: Closers): Promise<{ port: number; seen: H2UpstreamSeen[]; closes: number[] }> {
  const seen: H2UpstreamSeen[] = [];
  const closes: number[] = [];
  const server = http2.createServer({ settings: { enableConnectProtocol: opts.connect } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    seen.push({ method: String(headers[':method']), protocol: headers[':protocol'] as string | undefined, path: String(headers[':path']), authority: headers[':authority'] });
    if (headers[':method'] !== 'CONNECT') {
      stream.respond({ ':status': 426 });
      stream.end('no upgrade here');
      return;
    }
    if (opts.refuse !== undefined) {
      stream.respond({ ':status': opts.refuse });
      stream.end('refused');
      return;
    }
    const key = headers['sec-websocket-key'];
    const accept = opts.acceptFromKey === true && typeof key === 'string'
      ? { 'sec-websocket-accept': createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64') }
      : {};
    stream.respond({ ':status': 200, ...accept });
    const receiver = new Receiver({ isServer: true, maxPayload: 64 * 1024 * 1024 });
    const sender = new Sender(stream);
    receiver.on('message', (data: Buffer, binary: boolean) => sender.send(Buffer.from(data), { binary, fin: true, mask: false, compress: false, rsv1: false }, () => {}));
    receiver.on('conclude', (code: number) => {
      closes.push(code);
      sender.close(code, '', false, () => stream.end());
    });
    receiver.on('error', () => stream.close());
    stream.pipe(receiver);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  closers.push(() => new Promise<void>((r) => {
    for (const s of sessions) s.destroy();
    server.close(() => r());
  }));
  return { port: (server.address() as AddressInfo).port, seen, closes };
}
