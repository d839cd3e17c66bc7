// The connection's write batch: frames byte for byte as h2-frames.ts makes them, and the buffer's
// reuse across flushes — only when a net.Socket took the bytes whole; a sink that keeps the view
// (a socket still connecting, any other writable) must keep what it was given, unchanged, while
// later batches are written. keepRest copies what is still queued of a borrowed chunk.
import { describe, test, expect, afterEach } from 'vitest';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { FrameBatch, keepRest, KEEP_LIMIT, type BatchSink } from '../../../host/core/h2/frame-batch.js';
import { dataHeader, headerFrames, windowUpdate, rstStream } from '../../../host/core/h2/h2-frames.js';

/** A sink that keeps every view it is given (as a socket does while it cannot write). */
class KeepingSink implements BatchSink {
  readonly views: Uint8Array[] = [];
  readonly writableLength = 0;
  write(b: Uint8Array): boolean {
    this.views.push(b);
    return true;
  }
}

describe('frames', () => {
  test('DATA, HEADERS with CONTINUATION, WINDOW_UPDATE and a pushed frame are the bytes h2-frames.ts makes', () => {
    const batch = new FrameBatch();
    const payload = Buffer.from('hello, world');
    const block = Buffer.alloc(40, 7);
    for (let i = 0; i < block.length; i++) block[i] = i;
    batch.data(3, payload, true);
    batch.data(5, new Uint8Array(0), false);
    batch.headers(7, block, true, 16);
    batch.headers(9, block.subarray(0, 10), false, 16);
    batch.windowUpdate(0, 0x12345);
    batch.push(rstStream(11, 8));
    const sink = new KeepingSink();
    expect(batch.flushTo(sink)).toBe(true);
    const want = Buffer.concat([
      dataHeader(3, payload.length, true), payload,
      dataHeader(5, 0, false),
      ...headerFrames(7, block, true, 16),
      ...headerFrames(9, block.subarray(0, 10), false, 16),
      windowUpdate(0, 0x12345),
      rstStream(11, 8),
    ]);
    expect(Buffer.from(sink.views[0]!).equals(want)).toBe(true);
    expect(batch.length).toBe(0);
  });

  test('a block given as a span of a larger memory (an encoder\'s output in place), short and long', () => {
    const mem = Buffer.alloc(1000);
    for (let i = 0; i < mem.length; i++) mem[i] = (i * 7) & 0xff;
    const batch = new FrameBatch();
    batch.headersFrom(1, mem, 100, 150, false, 16384);
    batch.headersFrom(3, mem, 200, 700, true, 200);
    const sink = new KeepingSink();
    batch.flushTo(sink);
    const want = Buffer.concat([...headerFrames(1, mem.subarray(100, 150), false, 16384), ...headerFrames(3, mem.subarray(200, 700), true, 200)]);
    expect(Buffer.from(sink.views[0]!).equals(want)).toBe(true);
  });

  test('an empty batch writes nothing; a batch grows past its first buffer with what it held kept', () => {
    const batch = new FrameBatch();
    const sink = new KeepingSink();
    expect(batch.flushTo(sink)).toBe(true);
    expect(sink.views).toHaveLength(0);
    const big = Buffer.alloc(5000, 0x61);
    batch.data(1, Buffer.from('abc'), false);
    batch.data(1, big, true);
    batch.flushTo(sink);
    expect(Buffer.from(sink.views[0]!).equals(Buffer.concat([dataHeader(1, 3, false), Buffer.from('abc'), dataHeader(1, 5000, true), big]))).toBe(true);
  });
});

describe('endStreamOnLastData', () => {
  const flushed = (batch: FrameBatch): Buffer => {
    const sink = new KeepingSink();
    batch.flushTo(sink);
    return Buffer.from(sink.views[0] ?? new Uint8Array(0));
  };

  test("sets END_STREAM on the stream's DATA frame queued last, in place: one frame, not an empty one after it", () => {
    const batch = new FrameBatch();
    const payload = Buffer.from('message');
    batch.headers(1, Buffer.from([0x83]), false, 16384);
    batch.data(1, payload, false);
    expect(batch.endStreamOnLastData(1)).toBe(true);
    // Once: the frame already ends the stream.
    expect(batch.endStreamOnLastData(1)).toBe(false);
    expect(flushed(batch).equals(Buffer.concat([...headerFrames(1, Buffer.from([0x83]), false, 16384), dataHeader(1, payload.length, true), payload]))).toBe(true);
  });

  test('false (nothing changed) when the last frame is not a DATA frame of that stream without END_STREAM', () => {
    const cases: Array<[string, (b: FrameBatch) => void]> = [
      ['an empty batch', () => {}],
      ["another stream's DATA", (b) => b.data(3, Buffer.from('x'), false)],
      ['DATA that already ends the stream', (b) => b.data(1, Buffer.from('x'), true)],
      ['a HEADERS frame after the DATA', (b) => { b.data(1, Buffer.from('x'), false); b.headers(3, Buffer.from([0x82]), false, 16384); }],
      ['a WINDOW_UPDATE after the DATA', (b) => { b.data(1, Buffer.from('x'), false); b.windowUpdate(0, 10); }],
      ['a pushed frame after the DATA', (b) => { b.data(1, Buffer.from('x'), false); b.push(rstStream(3, 8)); }],
    ];
    for (const [what, fill] of cases) {
      const batch = new FrameBatch();
      fill(batch);
      const before = batch.length === 0 ? Buffer.alloc(0) : (() => { const c = new FrameBatch(); fill(c); return flushed(c); })();
      expect(batch.endStreamOnLastData(1), what).toBe(false);
      expect(flushed(batch).equals(before), what).toBe(true);
    }
  });

  test('not across a flush (the frame went to the socket) nor a clear', () => {
    const batch = new FrameBatch();
    batch.data(1, Buffer.from('x'), false);
    flushed(batch);
    expect(batch.endStreamOnLastData(1)).toBe(false);
    batch.data(1, Buffer.from('y'), false);
    batch.clear();
    expect(batch.endStreamOnLastData(1)).toBe(false);
  });
});

describe('reuse', () => {
  test('a sink that is not a net.Socket keeps its views: a later batch does not overwrite them', () => {
    const batch = new FrameBatch();
    const sink = new KeepingSink();
    batch.data(1, Buffer.from('first'), false);
    batch.flushTo(sink);
    batch.data(1, Buffer.from('SECOND'), false);
    batch.flushTo(sink);
    expect(Buffer.from(sink.views[0]!).subarray(9).toString()).toBe('first');
    expect(Buffer.from(sink.views[1]!).subarray(9).toString()).toBe('SECOND');
    expect(batch.handedOff).toBe(2);
  });

  const open: Array<{ server: Server; client: Socket }> = [];
  afterEach(() => {
    for (const { server, client } of open.splice(0)) {
      client.destroy();
      server.close();
    }
  });

  /** A loopback server collecting what it reads, and a client socket to it (not yet connected). */
  async function pair(): Promise<{ client: Socket; received: () => Promise<Buffer> }> {
    const chunks: Buffer[] = [];
    let peer: Socket | undefined;
    const server = createServer((s) => {
      peer = s;
      s.on('data', (c: Buffer) => chunks.push(c));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    open.push({ server, client });
    return {
      client,
      received: async () => {
        client.end();
        while (peer === undefined) await new Promise((r) => setTimeout(r, 5));
        if (!peer.readableEnded) await once(peer, 'end');
        return Buffer.concat(chunks);
      },
    };
  }

  /** `n` batches of one DATA frame (`size` bytes, a fill of its own each), each flushed to `client`; the bytes its peer must get. */
  function flushEach(batch: FrameBatch, client: Socket, n: number, size: number, afterFlush: () => void = () => {}): Buffer {
    const want: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const p = Buffer.alloc(size, 0x30 + i);
      batch.data(1, p, false);
      want.push(dataHeader(1, size, false), p);
      batch.flushTo(client);
      afterFlush();
    }
    return Buffer.concat(want);
  }

  test('a socket still connecting keeps the batch (a new buffer next time); the peer gets every byte', async () => {
    const { client, received } = await pair();
    const batch = new FrameBatch();
    // Before 'connect': each write is queued in the socket, which holds the view.
    const want = flushEach(batch, client, 3, 100);
    expect(batch.handedOff).toBe(3);
    expect((await received()).equals(want)).toBe(true);
  });

  test('a connected socket that took the bytes whole: the buffer is written again, the peer gets every byte', async () => {
    const { client, received } = await pair();
    await once(client, 'connect');
    const batch = new FrameBatch();
    const want = flushEach(batch, client, 20, 200, () => {
      // The next batch goes into the same memory only when nothing refers to this one.
      if (client.writableLength !== 0) expect(batch.handedOff).toBeGreaterThan(0);
    });
    expect(batch.handedOff).toBeLessThan(20); // small loopback writes are taken whole: reused
    expect((await received()).equals(want)).toBe(true);
  });

  test('a buffer grown past KEEP_LIMIT is let go after its write', async () => {
    const { client, received } = await pair();
    await once(client, 'connect');
    const batch = new FrameBatch();
    batch.data(1, Buffer.alloc(KEEP_LIMIT + 1), true);
    batch.flushTo(client);
    expect(batch.handedOff).toBe(1);
    expect((await received()).length).toBe(KEEP_LIMIT + 10);
  });
});

describe('keepRest', () => {
  test('what is queued of a borrowed chunk becomes a copy; other entries are left as they are', () => {
    const mem = Buffer.from('0123456789');
    const other = Buffer.from('other');
    const chunk = mem.subarray(2, 8); // "234567"
    const queue: Uint8Array[] = [other, chunk.subarray(3), Buffer.from('later')];
    keepRest(queue, chunk);
    mem.fill(0x78);
    expect(queue[0]).toBe(other);
    expect(Buffer.from(queue[1]!).toString()).toBe('567');
    expect(Buffer.from(queue[2]!).toString()).toBe('later');
  });

  test('a chunk sent whole leaves the queue alone', () => {
    const chunk = Buffer.from('gone');
    const kept = Buffer.from('kept');
    const queue: Uint8Array[] = [kept];
    keepRest(queue, chunk);
    expect(queue[0]).toBe(kept);
  });
});
