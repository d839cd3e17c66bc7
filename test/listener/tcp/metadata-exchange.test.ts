// Istio's TCP metadata exchange as a stage of the byte proxy's reading
// (host/listener/tcp/metadata-exchange.ts): the peer's header taken off the first chunks however
// they are split, the application bytes after it handed on whole, the stream's end within it,
// refused headers — and in a TcpProxySession over real loopback sockets, the header and the first
// bytes written one byte at a time, the peer's FIN or a refused header closing the connection.
import { createServer, connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { collect, until } from '../../helpers/byte-stream-io.js';
import { PeerExchange, startMetadataExchange } from '../../../host/listener/tcp/metadata-exchange.js';
import { TcpProxySession } from '../../../host/listener/tcp/tcp-proxy-session.js';
import { encodeExchange } from '../../../host/telemetry/tcp-metadata-exchange.js';
import { workloadMetadata } from '../../../host/model/workload-metadata.js';

const cart = workloadMetadata({ name: 'cart', namespace: 'shop', labels: { app: 'cart', version: 'v2' }, nodeId: 'sidecar~10.1.0.7~cart-5d8.shop~shop.svc.cluster.local' });
const HEADER = encodeExchange(cart);
const APP = Buffer.from('*1\r\n$4\r\nPING\r\n');

/** Runs `chunks` through a fresh exchange: the application bytes it handed on, and the exchange. */
function through(chunks: readonly Buffer[], maxBytes = 60 * 1024): { out: Buffer; ex: PeerExchange } {
  const ex = new PeerExchange({ maxBytes });
  const out: Buffer[] = [];
  for (const c of chunks) {
    if (ex.outcome !== null) out.push(c); // settled: the reader hands chunks on untouched
    else {
      const o = ex.take(c);
      if (o !== null) out.push(o);
    }
  }
  return { out: Buffer.concat(out), ex };
}

/** `b` cut at `cuts` (sorted, deduplicated offsets inside it). */
function split(b: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts)].filter((c) => c > 0 && c < b.length).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) (out.push(b.subarray(from, c)), (from = c));
  out.push(b.subarray(from));
  return out;
}

describe('PeerExchange as a reading stage', () => {
  test('split at every byte: the peer named, exactly the application bytes handed on', () => {
    const whole = Buffer.concat([HEADER, APP]);
    const { out, ex } = through([...whole].map((b) => Buffer.from([b])));
    expect(out).toEqual(APP);
    expect(ex.outcome?.kind).toBe('done');
    expect(ex.peer?.labels.workload).toBe('cart');
    expect(ex.peer?.labels.namespace).toBe('shop');
  });

  test('property: any split of header + application bytes hands on the application bytes whole', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(HEADER.length + 64)), (app, cuts) => {
      const whole = Buffer.concat([HEADER, Buffer.from(app)]);
      const { out, ex } = through(split(whole, cuts));
      expect(out).toEqual(Buffer.from(app));
      // Settled once the header is whole, application bytes or not.
      expect(ex.outcome?.kind).toBe('done');
    }));
  });

  test('no magic: settled at the first byte that differs, every byte is application data', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }).filter((a) => a[0] !== HEADER[0]), fc.array(fc.nat(32)), (app, cuts) => {
      const { out, ex } = through(split(Buffer.from(app), cuts));
      expect(out).toEqual(Buffer.from(app));
      expect(ex.outcome?.kind).toBe('absent');
      expect(ex.refused).toBe(false);
    }));
    // A prefix of the magic, then a byte that differs: the held prefix goes on with it.
    const { out } = through([HEADER.subarray(0, 1), HEADER.subarray(1, 3), Buffer.from('x')]);
    expect(out).toEqual(Buffer.concat([HEADER.subarray(0, 3), Buffer.from('x')]));
  });

  test('the end within the first 4 bytes: they were data; before any byte: nothing; inside the exchange: closed (refused)', () => {
    const short = new PeerExchange({ maxBytes: 1024 });
    expect(short.take(HEADER.subarray(0, 2))).toBeNull();
    expect(short.ended()).toEqual(HEADER.subarray(0, 2));
    expect(short.outcome?.kind).toBe('absent');

    const empty = new PeerExchange({ maxBytes: 1024 });
    expect(empty.ended()).toBeNull();
    expect(empty.outcome?.kind).toBe('absent');

    const cut = new PeerExchange({ maxBytes: 1024 });
    expect(cut.take(HEADER.subarray(0, 10))).toBeNull();
    expect(cut.ended()).toBeNull();
    expect(cut.outcome).toMatchObject({ kind: 'closed', detail: 'the peer closed within its metadata exchange (10 bytes of it)' });
    expect(cut.refused).toBe(true);
    // Settled once: a later end changes nothing.
    expect(cut.ended()).toBeNull();
  });

  test('over the limit: refused from the length alone; a malformed Any: refused', () => {
    const big = new PeerExchange({ maxBytes: 16 });
    expect(big.take(HEADER.subarray(0, 8))).toBeNull();
    expect(big.outcome).toMatchObject({ kind: 'error', error: 'too_large' });
    expect(big.refused).toBe(true);

    const bad = Buffer.from(HEADER);
    bad.fill(0xff, 8);
    const { ex } = through([bad]);
    expect(ex.outcome).toMatchObject({ kind: 'error', error: 'header_not_found' });
  });

  test('startMetadataExchange writes ours at once and reads nothing of the socket', () => {
    const written: Uint8Array[] = [];
    const ex = startMetadataExchange({ write: (c: Uint8Array) => (written.push(c), true) }, HEADER, { maxBytes: 1024 });
    expect(written).toEqual([HEADER]);
    expect(ex.outcome).toBeNull();
  });
});

const servers: Array<{ close(): void }> = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function pair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, allowHalfOpen: true, noDelay: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const other = await accepted;
  sockets.push(client, other);
  return [client, other];
}

/** client ⇄ [session, the downstream's exchange read by it] ⇄ app; `early`: written (each its own write) and read by the downstream before the session starts. */
async function exchanging(early: Buffer[] = []) {
  const [client, downstream] = await pair();
  const [upstream, app] = await pair();
  app.resume();
  if (early.length > 0) {
    // Each read into the socket's buffer on its own (paused: read(0) starts the handle reading, nothing flows).
    let n = 0;
    for (const b of early) {
      client.write(b);
      n += b.length;
      downstream.read(0);
      await until(() => downstream.readableLength >= n);
    }
  }
  const exchange = new PeerExchange({ maxBytes: 1024 });
  let ended!: (s: TcpProxySession) => void;
  const done = new Promise<TcpProxySession>((r) => (ended = r));
  new TcpProxySession(downstream, upstream, { idleTimeoutMs: 0, downstreamExchange: exchange }, { onEnd: (s) => ended(s) });
  return { client, app, exchange, done };
}

/** Writes `b` one byte per write, a timer turn apart (so the session reads them one by one, as the machine allows). */
async function byteByByte(s: Socket, b: Buffer): Promise<void> {
  for (let i = 0; i < b.length; i++) {
    s.write(b.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('the exchange in a TcpProxySession', () => {
  test('the header and the first bytes one byte per write: the app gets the application bytes alone, counted alone', async () => {
    const { client, app, exchange, done } = await exchanging();
    const atApp = collect(app);
    await byteByByte(client, HEADER);
    expect(exchange.peer?.labels.workload).toBe('cart');
    expect(atApp.data().length).toBe(0);
    for (let i = 0; i < APP.length; i++) {
      client.write(APP.subarray(i, i + 1));
      await until(() => atApp.data().length === i + 1);
    }
    client.end();
    await atApp.ended;
    app.end();
    const s = await done;
    expect(atApp.data()).toEqual(APP);
    expect(s.rxBytes).toBe(APP.length);
    expect(s.end).toBe('closed');
  });

  test('the peer\'s FIN inside its exchange: the upstream is reset, the session ends as a downstream reset', async () => {
    const { client, app, exchange, done } = await exchanging();
    const appError = new Promise<Error>((r) => app.once('error', r));
    await byteByByte(client, HEADER.subarray(0, 12));
    client.end();
    const s = await done;
    expect(exchange.outcome?.kind).toBe('closed');
    expect(s.end).toBe('downstream_reset');
    expect(s.rxBytes).toBe(0);
    expect((await appError as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  test('a stream that ends within the first 4 bytes hands them on, then the FIN', async () => {
    const { client, app, exchange, done } = await exchanging();
    const atApp = collect(app);
    client.end(HEADER.subarray(0, 3));
    await atApp.ended;
    expect(atApp.data()).toEqual(HEADER.subarray(0, 3));
    expect(exchange.outcome?.kind).toBe('absent');
    app.end();
    expect((await done).rxBytes).toBe(3);
  });

  test('a refused header (over the limit) closes the client and resets the app', async () => {
    const { client, app, exchange, done } = await exchanging();
    const appError = new Promise<Error>((r) => app.once('error', r));
    const big = Buffer.from(HEADER.subarray(0, 8));
    big.writeUInt32BE(4096, 4);
    client.write(big);
    const s = await done;
    expect(exchange.outcome).toMatchObject({ kind: 'error', error: 'too_large' });
    expect(s.end).toBe('downstream_reset');
    expect((await appError as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  test('a malformed header and bytes behind it, read as separate chunks before the session: no byte of them reaches the app', async () => {
    const bad = Buffer.from(HEADER);
    bad.fill(0xff, 8);
    const { app, exchange, done } = await exchanging([bad, Buffer.from('hello'), Buffer.from('world')]);
    const atApp = collect(app);
    app.on('error', () => {});
    const s = await done;
    expect(exchange.outcome).toMatchObject({ kind: 'error', error: 'header_not_found' });
    expect(s.end).toBe('downstream_reset');
    expect(s.rxBytes).toBe(0);
    expect(atApp.data().length).toBe(0);
  });
});
