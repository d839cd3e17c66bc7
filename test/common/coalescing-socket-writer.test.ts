// CoalescingSocketWriter over a real loopback connection: a chunk alone is handed to the socket
// within the write() call (no added latency), chunks of one dispatch after the first go out as
// one writev at the dispatch's end, nothing is reordered, dropped or held past the dispatch, a
// FIN follows the gathered bytes, and the socket's backpressure (write() false, then 'drain')
// holds with chunks gathered.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { CoalescingSocketWriter } from '../../host/common/coalescing-socket-writer.js';

interface Pair {
  client: Socket;
  peer: Socket;
  /** Bytes the peer has read. */
  received: () => Buffer;
  /** Resolves once the peer has read `n` bytes in all. */
  receivedAtLeast: (n: number) => Promise<void>;
  /** The socket's write hooks, as called: 'write' (one chunk) or 'writev:<chunks>'. */
  calls: string[];
}

let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== null) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = null;
});

async function pair(): Promise<Pair> {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection');
  const client = connect({ port, host: '127.0.0.1', noDelay: true });
  await once(client, 'connect');
  const [peer] = (await accepted) as [Socket];
  sockets.push(client, peer);
  const chunks: Buffer[] = [];
  let total = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  peer.on('data', (c: Buffer) => {
    chunks.push(c);
    total += c.length;
    for (const w of waiters.splice(0)) {
      if (total >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  const calls: string[] = [];
  const s = client as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = s._write.bind(client);
  const writev = s._writev.bind(client);
  s._write = (...a: unknown[]) => {
    calls.push('write');
    write(...a);
  };
  s._writev = (c: unknown[], cb: unknown) => {
    calls.push(`writev:${c.length}`);
    writev(c, cb);
  };
  return {
    client,
    peer,
    calls,
    received: () => Buffer.concat(chunks),
    receivedAtLeast: (n) => (total >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** The end of the current dispatch (the writer's nextTick was queued before this one). */
const dispatchEnd = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('CoalescingSocketWriter', () => {
  it('hands a chunk that comes alone to the socket within write(): nothing corked, nothing held', async () => {
    const p = await pair();
    const w = new CoalescingSocketWriter(p.client);
    expect(w.write(Buffer.from('alone'))).toBe(true);
    expect(p.calls).toEqual(['write']);
    expect(p.client.writableCorked).toBe(0);
    expect(p.client.writableLength).toBe(0);
    await p.receivedAtLeast(5);
    expect(p.received().toString()).toBe('alone');
  });

  it('gathers the chunks after the first of one dispatch into one writev at its end, in order', async () => {
    const p = await pair();
    const w = new CoalescingSocketWriter(p.client);
    w.write(Buffer.from('a1'));
    w.write(Buffer.from('b2'));
    w.write(Buffer.from('c3'));
    expect(p.calls).toEqual(['write']);
    expect(p.client.writableCorked).toBe(1);
    await dispatchEnd();
    expect(p.calls).toEqual(['write', 'writev:2']);
    expect(p.client.writableCorked).toBe(0);
    // The next dispatch starts afresh: its first chunk goes straight out.
    w.write(Buffer.from('d4'));
    expect(p.calls).toEqual(['write', 'writev:2', 'write']);
    await p.receivedAtLeast(8);
    expect(p.received().toString()).toBe('a1b2c3d4');
  });

  it('copies what it is given: the caller may overwrite its buffer after write()', async () => {
    const p = await pair();
    const w = new CoalescingSocketWriter(p.client);
    const buf = Buffer.from('xxxx');
    buf.write('one-');
    w.write(buf);
    buf.write('two-');
    w.write(buf);
    buf.write('3333');
    await p.receivedAtLeast(8);
    expect(p.received().toString()).toBe('one-two-');
  });

  it('keeps the order and every byte over many dispatches of mixed sizes, two writers to two sockets', async () => {
    const a = await pair();
    const aw = new CoalescingSocketWriter(a.client);
    const b = await pair();
    const bw = new CoalescingSocketWriter(b.client);
    const sentA: Buffer[] = [];
    const sentB: Buffer[] = [];
    let seq = 0;
    for (let d = 0; d < 40; d++) {
      for (let i = 0; i < (d % 5); i++) {
        const x = Buffer.from(`A${seq++};`);
        sentA.push(x);
        aw.write(x);
        const y = Buffer.alloc(1 + ((seq * 97) % 3000), seq & 0xff);
        sentB.push(y);
        bw.write(y);
      }
      await dispatchEnd();
    }
    const wantA = Buffer.concat(sentA);
    const wantB = Buffer.concat(sentB);
    await a.receivedAtLeast(wantA.length);
    await b.receivedAtLeast(wantB.length);
    expect(a.received().equals(wantA)).toBe(true);
    expect(b.received().equals(wantB)).toBe(true);
    // Per dispatch one write of the first chunk, then the rest at its end: one more write for a
    // single gathered chunk (d % 5 = 2), one writev for two or three (d % 5 = 3, 4).
    expect(a.calls.filter((c) => c.startsWith('writev')).length).toBe(16);
    expect(a.calls.length).toBe(8 * (1 + 2 + 2 + 2));
  });

  it('a half-close in the dispatch goes after the gathered bytes', async () => {
    const p = await pair();
    const w = new CoalescingSocketWriter(p.client);
    const ended = once(p.peer, 'end');
    w.write(Buffer.from('first '));
    w.write(Buffer.from('second'));
    p.client.end();
    await ended;
    expect(p.received().toString()).toBe('first second');
  });

  it('backpressure holds with gathered chunks: write() false at the high-water mark, then drain with every byte sent', async () => {
    const p = await pair();
    const w = new CoalescingSocketWriter(p.client);
    const hwm = p.client.writableHighWaterMark;
    const chunk = Buffer.alloc(4096, 7);
    const results: boolean[] = [];
    w.write(Buffer.from('head'));
    let queued = 0;
    while (queued < hwm) {
      results.push(w.write(chunk));
      queued += chunk.length;
    }
    // The corked queue reached the socket's limit: the last write says stop, the others did not.
    expect(results.at(-1)).toBe(false);
    expect(results.slice(0, -1).every((r) => r)).toBe(true);
    expect(p.client.writableNeedDrain).toBe(true);
    const drained = once(p.client, 'drain');
    await dispatchEnd();
    await drained;
    await p.receivedAtLeast(4 + queued);
    const got = p.received();
    expect(got.length).toBe(4 + queued);
    expect(got.subarray(0, 4).toString()).toBe('head');
    expect(got.subarray(4).every((b) => b === 7)).toBe(true);
  });
});
