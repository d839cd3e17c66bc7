// UserBufferReader's two sizes over a real loopback connection: a connection starts reading into
// its small buffer, a read that fills it moves it to a large one, a quiet read (with no write
// holding the large buffer) moves it back and puts the large one on the free list for the next
// bulk connection; a large buffer a pending write still holds is kept. The small buffers are
// pooled: given back when the socket closes, unless a write still holds one, and taken by the next reader.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { freeLargeBuffers, freeSmallBuffers, LARGE_READ_BYTES, SMALL_READ_BYTES, UserBufferReader } from '../../../host/listener/tcp/user-buffer-reader.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** [the app's accepted end, the reading socket connected with `reader`'s onread]. */
async function connected(reader: UserBufferReader): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const s = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, onread: reader.onread });
  await new Promise<void>((r) => s.once('connect', () => r()));
  const app = await accepted;
  sockets.push(s, app);
  return [app, s];
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('UserBufferReader', () => {
  test('small at the start, large after a read fills it, small again after a quiet read (the large one freed)', async () => {
    const reader = new UserBufferReader();
    const [app, s] = await connected(reader);
    const sizes: number[] = [];
    let got = 0;
    reader.attach((n, buf) => {
      sizes.push(buf.length);
      got += n;
      return false;
    }, s);
    expect(reader.bufferBytes).toBe(SMALL_READ_BYTES);
    // A burst larger than the small buffer, sent while the reader is stopped: its first read fills it.
    s.pause();
    app.write(Buffer.alloc(2 * 1024 * 1024, 1));
    await new Promise((r) => setTimeout(r, 50));
    s.resume();
    await until(() => got >= 2 * 1024 * 1024);
    expect(sizes[0]).toBe(SMALL_READ_BYTES);
    expect(sizes).toContain(LARGE_READ_BYTES);
    // Then a quiet read: the small buffer again; a large one it held goes on the free list.
    const freeBefore = freeLargeBuffers();
    const wasLarge = reader.bufferBytes === LARGE_READ_BYTES;
    app.write('x');
    await until(() => got === 2 * 1024 * 1024 + 1);
    expect(freeLargeBuffers()).toBe(freeBefore + (wasLarge ? 1 : 0));
    expect(reader.bufferBytes).toBe(SMALL_READ_BYTES);
  });

  test('a large buffer a pending write still holds is kept, even after a quiet read', async () => {
    const reader = new UserBufferReader();
    const [app, s] = await connected(reader);
    let got = 0;
    let hold = false;
    reader.attach((n) => {
      got += n;
      return hold;
    }, s);
    s.pause();
    app.write(Buffer.alloc(1024 * 1024, 2));
    await new Promise((r) => setTimeout(r, 50));
    s.resume();
    await until(() => got >= 1024 * 1024);
    if (reader.bufferBytes !== LARGE_READ_BYTES) {
      // The last read filled the small buffer's successor and was quiet already: make it large again.
      s.pause();
      app.write(Buffer.alloc(1024 * 1024, 2));
      await new Promise((r) => setTimeout(r, 50));
      s.resume();
      await until(() => got >= 2 * 1024 * 1024);
    }
    expect(reader.bufferBytes).toBe(LARGE_READ_BYTES);
    hold = true; // the sink reports each read as still referenced
    const before = got;
    app.write('y');
    await until(() => got === before + 1);
    expect(reader.bufferBytes).toBe(LARGE_READ_BYTES);
  });

  test('pipelined: a read a write still holds is lent, the next read goes into another buffer, release frees it once', async () => {
    const reader = new UserBufferReader({ pipelined: true });
    const [app, s] = await connected(reader);
    const seen: Buffer[] = [];
    let got = 0;
    reader.attach((n, buf) => {
      seen.push(buf);
      got += n;
      return seen.length === 1; // the first read is held by a "pending write"
    }, s);
    app.write('a');
    await until(() => got === 1);
    app.write('b');
    await until(() => got === 2);
    // The held small buffer was not read into again.
    expect(seen[1]).not.toBe(seen[0]);
    expect(seen[1]!.length).toBe(LARGE_READ_BYTES);
    // Its release: the small buffer is the reader's own (not put on the free list), released once.
    const free = freeLargeBuffers();
    reader.release(seen[0]!);
    reader.release(seen[0]!);
    expect(freeLargeBuffers()).toBe(free);
    // A buffer that was never lent (a write that completed at once) is not freed by a release.
    reader.release(seen[1]!);
    expect(freeLargeBuffers()).toBe(free);
  });

  test('the small buffer goes back to the pool when the socket closes, and the next reader takes it', async () => {
    const reader = new UserBufferReader({ pipelined: true });
    const [app, s] = await connected(reader);
    const seen: Buffer[] = [];
    reader.attach((n, buf) => {
      seen.push(buf);
      return false;
    }, s);
    app.write('a');
    await until(() => seen.length === 1);
    const before = freeSmallBuffers();
    // Whoever attached closes the reader on the socket's close (the session does).
    s.once('close', () => reader.close());
    s.destroy();
    await new Promise((r) => s.once('close', r));
    expect(freeSmallBuffers()).toBe(before + 1);
    // The next connection's reader reads into that very buffer.
    const next = new UserBufferReader({ pipelined: true });
    expect(freeSmallBuffers()).toBe(before);
    const [app2, s2] = await connected(next);
    const seen2: Buffer[] = [];
    next.attach((n, buf) => {
      seen2.push(buf);
      return false;
    }, s2);
    app2.write('b');
    await until(() => seen2.length === 1);
    expect(seen2[0]!.buffer).toBe(seen[0]!.buffer);
  });

  test('a small buffer a pending write still holds at close is not pooled until that write releases it', async () => {
    const reader = new UserBufferReader({ pipelined: true });
    const [app, s] = await connected(reader);
    const seen: Buffer[] = [];
    reader.attach((n, buf) => {
      seen.push(buf);
      return true; // "a pending write" holds every read
    }, s);
    app.write('a');
    await until(() => seen.length === 1);
    expect(seen[0]!.length).toBe(SMALL_READ_BYTES);
    const before = freeSmallBuffers();
    s.once('close', () => reader.close());
    s.destroy();
    await new Promise((r) => s.once('close', r));
    // Held by the pending write: not on the free list (another connection would read over it).
    expect(freeSmallBuffers()).toBe(before);
    reader.release(seen[0]!);
    expect(freeSmallBuffers()).toBe(before + 1);
    reader.release(seen[0]!);
    expect(freeSmallBuffers()).toBe(before + 1);
  });
});
