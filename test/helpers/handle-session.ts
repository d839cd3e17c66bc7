// A TcpProxySession whose sides are HandleSockets over real loopback sockets (the downstream
// accepted by TcpHandleListener, the upstream connected by connectHandle), as TcpProxyServer makes
// them on the handle transport: client ⇄ [proxy on handles] ⇄ app (a net.Server). For running the
// session's tests over both transports (test/listener/tcp/tcp-proxy-session.test.ts) and the
// handle transport's own (handle-socket.test.ts).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chooseTcpTransport, type TcpHandleBinding } from '../../host/listener/tcp/tcp-handle-binding.js';
import { TcpHandleListener } from '../../host/listener/tcp/tcp-handle-listener.js';
import { connectHandle } from '../../host/listener/tcp/handle-connect.js';
import type { HandleSocket } from '../../host/listener/tcp/handle-socket.js';
import { TcpProxySession, type TcpSessionCallbacks } from '../../host/listener/tcp/tcp-proxy-session.js';
import { UserBufferReader } from '../../host/listener/tcp/user-buffer-reader.js';

/** The handle transport's bindings (a Node whose bindings fail the check fails the tests: no skip). */
export const handleBinding: TcpHandleBinding = (() => {
  const c = chooseTcpTransport('handle');
  if (c.binding === null) throw new Error('no handle binding');
  return c.binding;
})();

/** A net.Server app the proxy connects to (half-open capable): its accepted sockets in order. */
export async function app(closers: Array<() => void>): Promise<{ port: number; next: () => Promise<Socket> }> {
  const accepted: Socket[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    closers.push(() => s.destroy());
    const w = waiting.shift();
    if (w !== undefined) w(s);
    else accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return { port: (server.address() as { port: number }).port, next: () => new Promise((r) => { const s = accepted.shift(); if (s !== undefined) r(s); else waiting.push(r); }) };
}

/** A handle listener handing each accepted downstream to `take`. */
export async function handleListener(closers: Array<() => void>, take: (s: HandleSocket) => void, maxConnections = 0): Promise<TcpHandleListener> {
  const l = new TcpHandleListener(handleBinding, '127.0.0.1', 0, take, { maxConnections });
  await l.listen();
  closers.push(() => l.closeAll());
  return l;
}

/** Resolves on `s`'s connect, rejects on its error. */
export function connected(s: HandleSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.on('error', reject);
  });
}

/** client ⇄ [proxy on handles: downstream | upstream] ⇄ app, pipelined (with `limits` if given), as TcpProxyConnection runs it. */
export async function handleProxied(closers: Array<() => void>, idleTimeoutMs = 0, extra: Partial<TcpSessionCallbacks> = {}, limits?: { toDownstream: number; toUpstream: number }) {
  const a = await app(closers);
  let ended!: (s: TcpProxySession) => void;
  const done = new Promise<TcpProxySession>((r) => (ended = r));
  let take!: (s: HandleSocket) => void;
  const accepted = new Promise<HandleSocket>((r) => (take = r));
  const l = await handleListener(closers, (s) => take(s));
  const client = connect({ host: '127.0.0.1', port: l.port, allowHalfOpen: true });
  closers.push(() => client.destroy());
  const downstream = await accepted;
  const upReader = new UserBufferReader({ pipelined: true });
  const upstream = connectHandle(handleBinding, '127.0.0.1', a.port, upReader, { keepAliveInitialDelayMs: null });
  closers.push(() => upstream.destroy());
  await connected(upstream);
  const appSide = await a.next();
  // Flowing, as tcp-proxy-session.test.ts's pair() leaves its app (a test that wants it slow pauses it).
  appSide.resume();
  const session = new TcpProxySession(downstream, upstream, { idleTimeoutMs, upstreamReader: upReader, downstreamReader: downstream.reader, pipelined: true, ...(limits !== undefined ? { bufferLimits: limits } : {}) }, { onEnd: (s) => ended(s), ...extra });
  return { client, app: appSide, downstream, upstream, session, done };
}
