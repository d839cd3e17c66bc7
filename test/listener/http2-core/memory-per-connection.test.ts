// Wasm memory per idle HTTP/2 connection on the core listener (issue 15): N clients connect to a
// CoreHttp2Listener on its own Core (the clients' HPACK runs on another), and the bytes that
// core's heap holds live (every block the host allocates, `alloc` / `free`, and every HPACK
// table, `hpack_table_new` / `_free`, counted at the allocator's 16-byte granularity plus its
// block header; the core allocates nothing else per connection) are divided by N — after the
// handshake alone, and after each connection
// served a request answered by a local reply (`reply`: HEADERS from a field list) and one by a
// streamed head (`writeHead`: the field-by-field block) with a body. The per-call HPACK regions
// (decoded list, its byte area, the encoder's list and output) are shared by every connection on
// a core (core/h2/hpack-scratch.ts) and the dynamic tables made on first use, so what an idle
// connection keeps is its two tables, its read region and a few structs: ≤ 32 KiB (it was
// ~230 KiB before: a 196 KiB decoder byte area each). A connection idle after a large request
// body gives its grown read region back (core-h2-connection.ts #releaseReadRegion).
import { afterEach, describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { Core } from '../../../host/core/wasm.js';
import { CoreHttp2Listener } from '../../../host/listener/http2-core/core-http2-listener.js';
import { BodyMode, type Downstream, type DownstreamHandler } from '../../../host/listener/downstream.js';
import { Stats } from '../../../host/telemetry/stats.js';
import { HTTP2_PREFACE } from '../../../host/listener/protocol-sniff.js';
import { WireClient, settings, frame, GET, POST, SETTINGS, ACK, DATA, END_STREAM } from './h2-wire.js';

const N = 64;
const LIMIT = 32 * 1024;
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const NO_OP: DownstreamHandler = { onBody() {}, onBodyEnd() {}, onAborted() {}, onWritable() {}, onResponseComplete() {}, onIdleTimeout() {} } as unknown as DownstreamHandler;

function answer(ds: Downstream): void {
  if (ds.path === '/upload') {
    let n = 0;
    ds.attach({ ...NO_OP, onBodyData(chunk: Uint8Array, last: boolean) { n += chunk.length; if (last) ds.reply('200', [], String(n)); } } as DownstreamHandler, true);
    return;
  }
  ds.attach(NO_OP, false);
  if (ds.path === '/reply') ds.reply('200', [['x-app', 'yes'], ['content-type', 'text/plain']], 'ok');
  else {
    ds.writeHead(200, { emitHead(sink) { sink.status('OK'); sink.header('content-type', 'application/octet-stream'); sink.header('x-request-id', 'a-longer-value-0123456789'); } }, BodyMode.Stream);
    ds.write(Buffer.alloc(1000, 1));
    ds.end();
  }
}

async function rig(): Promise<{ core: Core; connect(): Promise<WireClient> }> {
  const core = new Core();
  const listener = new CoreHttp2Listener(core, new Stats().downstream, answer, {});
  const server = net.createServer((sock) => {
    const reader = listener.take(sock, '127.0.0.1', null);
    sock.on('data', (d: Buffer) => reader?.onRead(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const clients: WireClient[] = [];
  cleanup.push(() => new Promise<void>((r) => {
    for (const c of clients) c.close();
    listener.closeAll();
    server.close(() => r());
  }));
  const port = (server.address() as AddressInfo).port;
  return {
    core,
    async connect() {
      const sock = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const c = new WireClient(sock);
      clients.push(c);
      c.write(Buffer.from(HTTP2_PREFACE), settings());
      await c.until((f) => f.type === SETTINGS && (f.flags & ACK) === 0);
      c.write(frame(SETTINGS, ACK, 0));
      await c.until((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
      return c;
    },
  };
}

/** Live heap bytes of `core` from now on: the allocating exports wrapped (the bindings call them through this object). */
function heapMeter(core: Core): () => number {
  const e = core.exports as unknown as Record<string, (...a: number[]) => number>;
  const live = new Map<number, number>();
  let total = 0;
  const block = (n: number): number => Math.ceil(n / 16) * 16 + 16;
  const track = (ptr: number, n: number): void => { live.set(ptr, block(n)); total += block(n); };
  const untrack = (ptr: number): void => { total -= live.get(ptr) ?? 0; live.delete(ptr); };
  const { alloc, free, hpack_table_new: tableNew, hpack_table_free: tableFree } = e;
  e.alloc = (n) => { const p = alloc!(n); track(p, n); return p; };
  e.free = (p) => { untrack(p); return free!(p); };
  // assembly/h2/hpack-table.ts: header, entry ring (20 bytes per entry), bytes (twice the capacity).
  e.hpack_table_new = (cap) => { const p = tableNew!(cap); const c = cap === 0 ? 4096 : cap; track(p, 48 + (Math.floor(c / 32) + 1) * 20 + c * 2); return p; };
  e.hpack_table_free = (t) => { untrack(t); return tableFree!(t); };
  return () => total;
}

describe('core HTTP/2 listener: Wasm memory per idle connection', () => {
  it(`${N} connections: ≤ 32 KiB each after the handshake, and after a reply and a streamed response on each`, async () => {
    const r = await rig();
    const heap = heapMeter(r.core);
    // One connection first, so that what a core holds once (the shared HPACK regions) is not counted per connection.
    const warm = await r.connect();
    warm.write(warm.headers(1, GET('/reply')), warm.headers(3, GET('/stream')));
    await warm.response(3);
    await warm.response(1);
    const before = heap();
    const pagesBefore = r.core.exports.memory.buffer.byteLength;
    const clients: WireClient[] = [];
    for (let i = 0; i < N; i++) clients.push(await r.connect());
    const handshake = (heap() - before) / N;
    for (const c of clients) c.write(c.headers(1, GET('/reply')), c.headers(3, GET('/stream', [['user-agent', 'memory-test/1.0'], ['accept', '*/*']])));
    for (const c of clients) {
      expect((await c.response(1)).status).toBe('200');
      expect((await c.response(3)).body.length).toBe(1000);
    }
    const served = (heap() - before) / N;
    const grown = (r.core.exports.memory.buffer.byteLength - pagesBefore) / 1024;
    console.log(`core h2 listener, Wasm heap per idle connection (${N}): after the handshake ${(handshake / 1024).toFixed(1)} KiB, after two requests ${(served / 1024).toFixed(1)} KiB (linear memory grew ${grown} KiB in all)`);
    expect(handshake).toBeGreaterThan(0); // the meter sees the connections' regions
    expect(handshake).toBeLessThanOrEqual(LIMIT);
    expect(served).toBeLessThanOrEqual(LIMIT);
  });

  it('a connection that read a large request body gives its read region back once idle', async () => {
    const r = await rig();
    const heap = heapMeter(r.core);
    const warm = await r.connect();
    warm.write(warm.headers(1, GET('/reply')));
    await warm.response(1);
    const before = heap();
    const clients: WireClient[] = [];
    for (let i = 0; i < 16; i++) clients.push(await r.connect());
    const body = Buffer.alloc(16384, 7);
    for (const c of clients) {
      // 256 KiB in one write: the server reads it in large chunks (the read region grows with them).
      c.write(c.headers(1, POST('/upload'), 0), ...Array.from({ length: 16 }, (_, k) => frame(DATA, k === 15 ? END_STREAM : 0, 1, body)));
    }
    for (const c of clients) expect((await c.response(1)).body.toString()).toBe(String(16 * 16384));
    const per = (heap() - before) / 16;
    console.log(`core h2 listener, Wasm heap per idle connection after a 256 KiB upload: ${(per / 1024).toFixed(1)} KiB`);
    expect(per).toBeLessThanOrEqual(LIMIT);
  });
});
