// The byte proxy's handle transport over real loopback sockets: what HandleSocket and its
// listener do of their own — a refused connect, the listener's maxConnections, a reset while a
// shutdown is in flight, write after end, cork/uncork as one writev, the hand-over to a net.Socket
// (tls_inspector) — and the
// session on handles against its buffer limits (random bytes, SHA-256, bounded buffering, the
// flow-control counts). What the session promises on either transport (bytes and half-close both
// ways, resets, the idle timeout, close()) is tcp-proxy-session.test.ts's, run over both.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { collect, sha, until, writeAll } from '../../helpers/byte-stream-io.js';
import type { HandleSocket } from '../../../host/listener/tcp/handle-socket.js';
import { connectHandle } from '../../../host/listener/tcp/handle-connect.js';
import { LARGE_READ_BYTES, UserBufferReader } from '../../../host/listener/tcp/user-buffer-reader.js';
import { app as appOf, connected, handleBinding as binding, handleListener as listenerOf, handleProxied } from '../../helpers/handle-session.js';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0).reverse()) c();
});

const app = () => appOf(closers);
const handleListener = (take: (s: HandleSocket) => void, maxConnections = 0) => listenerOf(closers, take, maxConnections);

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('TcpProxySession on the handle transport: buffer limits', () => {
  test.each([
    ['toward a slow app (the downstream paused, counted)', true],
    ['toward a slow client (the upstream paused)', false],
  ])('24 MiB %s: intact (SHA-256), the proxy holding at most the limit plus one read', async (_name, toApp) => {
    const limit = 256 * 1024;
    const flow: boolean[] = [];
    const { client, app, downstream, upstream, done } = await handleProxied(closers, 0, { onDownstreamFlowControl: (p) => flow.push(p) }, { toDownstream: limit, toUpstream: limit });
    const [writer, reader, queued] = toApp ? [client, app, upstream] : [app, client, downstream];
    reader.pause();
    const data = randomBytes(24 * 1024 * 1024);
    const sent = writeAll(writer, data);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, queued.writableLength)), 2);
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    reader.on('data', (c: Buffer) => chunks.push(c));
    const readerEnded = new Promise((r) => reader.once('end', r));
    reader.resume();
    await sent;
    writer.end();
    await readerEnded;
    clearInterval(watch);
    expect(sha(Buffer.concat(chunks))).toBe(sha(data));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(limit + LARGE_READ_BYTES);
    if (toApp) {
      expect(flow[0]).toBe(true);
      expect(flow.filter((p) => p).length).toBe(flow.filter((p) => !p).length);
    }
    reader.end();
    const s = await done;
    expect(s.end).toBe('closed');
    expect(toApp ? s.rxBytes : s.txBytes).toBe(data.length);
  }, 60_000);
});

describe('HandleSocket and its listener', () => {
  test('a refused connect: error ECONNREFUSED (syscall connect), then close with hadError', async () => {
    const a = await app();
    const port = a.port;
    closers.splice(0).reverse().forEach((c) => c()); // the app's server closed: its port refuses
    await new Promise((r) => setTimeout(r, 20));
    const s = connectHandle(binding, '127.0.0.1', port, new UserBufferReader(), { keepAliveInitialDelayMs: 1000 });
    const err = new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
    const closed = new Promise<boolean>((r) => s.once('close', r));
    expect((await err).code).toBe('ECONNREFUSED');
    expect(await closed).toBe(true);
    expect(s.destroyed).toBe(true);
  });

  test('maxConnections: a connection over the limit is closed at accept; 0 means none', async () => {
    const taken: HandleSocket[] = [];
    const l = await handleListener((s) => taken.push(s), 1);
    const c1 = connect({ host: '127.0.0.1', port: l.port });
    closers.push(() => c1.destroy());
    await until(() => taken.length === 1);
    const c2 = connect({ host: '127.0.0.1', port: l.port });
    closers.push(() => c2.destroy());
    await new Promise((r) => c2.once('close', r));
    expect(taken).toHaveLength(1);
    expect(l.connections).toBe(1);
    taken[0]!.destroy();
    await until(() => l.connections === 0);
    const unlimited = await handleListener((s) => taken.push(s), 0);
    const cs = [0, 1, 2].map(() => connect({ host: '127.0.0.1', port: unlimited.port }));
    for (const c of cs) closers.push(() => c.destroy());
    await until(() => taken.length === 4);
  });

  test('a reset while its shutdown is in flight closes the handle instead (libuv refuses the reset)', async () => {
    const a = await app();
    const s = connectHandle(binding, '127.0.0.1', a.port, new UserBufferReader(), { keepAliveInitialDelayMs: null });
    await connected(s);
    const closed = new Promise<boolean>((r) => s.once('close', r));
    s.end();
    s.resetAndDestroy();
    expect(await closed).toBe(false);
  });

  test('cork/uncork: the writes held go as one libuv writev, in order, each callback called; over the high-water mark write() says false and drain follows', async () => {
    const a = await app();
    const s = connectHandle(binding, '127.0.0.1', a.port, new UserBufferReader(), { keepAliveInitialDelayMs: null });
    closers.push(() => s.destroy());
    await connected(s);
    const appSide = await a.next();
    const got = collect(appSide);
    const writev = vi.spyOn(s.handle, 'writev');
    const writeBuffer = vi.spyOn(s.handle, 'writeBuffer');
    const called: number[] = [];
    const chunks = [randomBytes(10_000), randomBytes(10_000), randomBytes(10_000)];
    s.cork();
    const below = chunks.map((c, i) => s.write(c, (err) => { expect(err).toBeNull(); called.push(i); }));
    // 10 000 B under 16 KiB, then over it: false, as net.Socket's write() says while corked.
    expect(below).toEqual([true, false, false]);
    expect(s.writableLength).toBe(30_000);
    const drained = new Promise<void>((r) => s.once('drain', () => r()));
    s.uncork();
    await drained;
    expect(called).toEqual([0, 1, 2]);
    expect(writev).toHaveBeenCalledTimes(1);
    expect(writeBuffer).not.toHaveBeenCalled();
    expect(s.writableLength).toBe(0);
    // One held write goes as a plain write; nothing held, nothing written.
    s.cork();
    s.uncork();
    s.cork();
    s.write(Buffer.from('end'));
    s.uncork();
    expect(writeBuffer).toHaveBeenCalledTimes(1);
    s.end();
    await got.ended;
    expect(sha(got.data())).toBe(sha(Buffer.concat([...chunks, Buffer.from('end')])));
  });

  test('uncork after end: the held writes are refused with an error to their callbacks', async () => {
    const a = await app();
    const s = connectHandle(binding, '127.0.0.1', a.port, new UserBufferReader(), { keepAliveInitialDelayMs: null });
    closers.push(() => s.destroy());
    await connected(s);
    s.cork();
    const err = new Promise<Error | null | undefined>((r) => s.write(Buffer.from('late'), r));
    s.end();
    s.uncork();
    expect((await err)?.message).toBe('write after end');
    expect(s.writableLength).toBe(0);
  });

  test('write after end: refused with an error to the callback, nothing sent', async () => {
    const a = await app();
    const s = connectHandle(binding, '127.0.0.1', a.port, new UserBufferReader(), { keepAliveInitialDelayMs: null });
    await connected(s);
    s.end();
    const err = await new Promise<Error | null | undefined>((r) => s.write(Buffer.from('late'), r));
    expect(err?.message).toBe('write after end');
    s.destroy();
  });

  test('handed to a net.Socket (what the tls_inspector reads through): bytes, FIN and close as a net.Socket', async () => {
    const got = deferred<HandleSocket>();
    const l = await handleListener((s) => got.resolve(s));
    const client = connect({ host: '127.0.0.1', port: l.port, allowHalfOpen: true });
    closers.push(() => client.destroy());
    const hs = await got.promise;
    const net = hs.toNetSocket();
    const hsClosed = new Promise((r) => hs.once('close', r));
    client.end('hello');
    const data: Buffer[] = [];
    net.on('data', (c: Buffer) => data.push(c));
    net.on('end', () => net.end('bye'));
    net.resume();
    const atClient = collect(client);
    await atClient.ended;
    expect(Buffer.concat(data).toString()).toBe('hello');
    expect(atClient.data().toString()).toBe('bye');
    await hsClosed;
    expect(l.connections).toBe(0);
  });
});
