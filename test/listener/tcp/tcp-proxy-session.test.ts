// The byte proxy over real loopback sockets: data both ways, half-close passed on, backpressure
// against a slow reader (bounded buffering, the reader paused and resumed), resets passed on as
// resets, and the idle timeout (closing only a silent session); a TLS side's records coalesced
// into one write per turn of the event loop.
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { testMeshCa } from '../../helpers/mesh-ca.js';
import { workloadCertificate } from '../../helpers/workload-certs.js';
import { collect, sha, until, writeAll } from '../../helpers/byte-stream-io.js';
import { PIPELINE_HIGH, TcpProxySession, type TcpSessionCallbacks, type TcpSessionOptions } from '../../../host/listener/tcp/tcp-proxy-session.js';
import { LARGE_READ_BYTES, UserBufferReader } from '../../../host/listener/tcp/user-buffer-reader.js';
import { rewrapWithUserBuffer } from '../../../host/listener/tcp/user-buffer-downstream.js';
import { TCP_TRANSPORTS } from '../../helpers/tcp-transports.js';
import { handleProxied } from '../../helpers/handle-session.js';

const servers: Array<{ close(): void }> = [];
const sockets: Socket[] = [];
const closers: Array<() => void> = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  for (const c of closers.splice(0).reverse()) c();
});

/** Two connected sockets over loopback: [the connecting end, the accepted end], both half-open capable. */
async function pair(reader?: UserBufferReader): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen: true, ...(reader !== undefined ? { onread: reader.onread } : {}) });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const other = await accepted;
  sockets.push(client, other);
  return [client, other];
}

/** client ⇄ [proxy: downstream | upstream] ⇄ app */
async function proxied(idleTimeoutMs = 0, extra: Partial<TcpSessionCallbacks> = {}, reader?: UserBufferReader, downReader?: UserBufferReader, onBulk = false, pipelined = false, bufferLimits?: TcpSessionOptions['bufferLimits']) {
  const [client, accepted] = await pair();
  const [upstream, app] = await pair(reader);
  app.resume();
  let ended!: (s: TcpProxySession) => void;
  const done = new Promise<TcpProxySession>((r) => (ended = r));
  // The downstream re-wrapped to read into its own buffer, as TcpProxyServer does.
  const downstream = downReader !== undefined ? rewrapWithUserBuffer(accepted, downReader) : accepted;
  if (downstream === null) throw new Error('the accepted socket could not be re-wrapped');
  if (downstream !== accepted) sockets.push(downstream);
  const session = new TcpProxySession(downstream, upstream, {
    idleTimeoutMs,
    ...(reader !== undefined ? { upstreamReader: reader } : {}),
    ...(downReader !== undefined ? { downstreamReader: downReader } : {}),
    ...(onBulk ? { downstreamReaderOnBulk: () => new UserBufferReader({ pipelined }) } : {}),
    pipelined,
    ...(bufferLimits !== undefined ? { bufferLimits } : {}),
  }, { onEnd: (s) => ended(s), ...extra });
  return { client, app, downstream, upstream, session, done };
}

// What the session promises on either transport: net.Socket sides (Node's reads), or
// HandleSockets reading into their own buffers, pipelined, as TcpProxyServer runs each.
describe.each(TCP_TRANSPORTS)('TcpProxySession (%s transport)', (transport) => {
  const open = (idleTimeoutMs = 0, extra: Partial<TcpSessionCallbacks> = {}) => (transport === 'socket' ? proxied(idleTimeoutMs, extra) : handleProxied(closers, idleTimeoutMs, extra));
  /** What the proxy may hold toward a paused reader: about one chunk over the high-water mark (socket), the buffer limit and one read (handle, pipelined). */
  const held = transport === 'socket' ? 1024 * 1024 : PIPELINE_HIGH + LARGE_READ_BYTES;

  test('bytes both ways; each FIN passed on (half-close, the client first); ends closed with the byte counts', async () => {
    const { client, app, done } = await open();
    const atApp = collect(app);
    const atClient = collect(client);
    client.end('hello');
    await atApp.ended; // the client's FIN reached the app, while the app can still answer
    expect(atApp.data().toString()).toBe('hello');
    app.end('world!');
    await atClient.ended;
    expect(atClient.data().toString()).toBe('world!');
    const s = await done;
    expect(s.end).toBe('closed');
    expect([s.rxBytes, s.txBytes]).toEqual([5, 6]);
  });

  test('a slow reader pauses the writer: buffering stays bounded, every byte arrives once it reads', async () => {
    const flow: boolean[] = [];
    const { client, app, upstream, done } = await open(0, { onDownstreamFlowControl: (p) => flow.push(p) });
    app.pause();
    const total = 32 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    const writeMore = (): void => {
      while (written < total) {
        written += block.length;
        if (!client.write(block)) return void client.once('drain', writeMore);
      }
      client.end();
    };
    writeMore();
    await until(() => flow.length > 0); // the downstream paused (an event, not 300 ms of hoping)
    expect(flow[0]).toBe(true);
    // The proxy holds a bounded amount, not the 32 MB.
    expect(upstream.writableLength).toBeLessThanOrEqual(held);
    expect(written).toBeLessThan(total);
    let got = 0;
    app.on('data', (c: Buffer) => (got += c.length));
    const appEnded = new Promise((r) => app.once('end', r));
    app.resume();
    await appEnded;
    expect(got).toBe(total);
    expect(flow).toContain(false);
    app.end();
    const s = await done;
    expect(s.rxBytes).toBe(total);
    expect(s.end).toBe('closed');
  }, 20_000);

  test('half-close the other way: the app\'s FIN first, the client answers after it', async () => {
    const { client, app, done } = await open();
    const atClient = collect(client);
    const atApp = collect(app);
    app.end('server first');
    await atClient.ended;
    expect(atClient.data().toString()).toBe('server first');
    client.end('late answer');
    await atApp.ended;
    expect(atApp.data().toString()).toBe('late answer');
    expect((await done).end).toBe('closed');
  });

  test('an upstream reset resets the downstream', async () => {
    const { client, app, done } = await open();
    const err = new Promise<NodeJS.ErrnoException>((r) => client.once('error', r));
    client.write('x');
    await new Promise((r) => app.once('data', r));
    app.resetAndDestroy();
    expect((await err).code).toBe('ECONNRESET');
    expect((await done).end).toBe('upstream_reset');
  });

  test('a downstream reset resets the upstream', async () => {
    const { client, app, done } = await open();
    const err = new Promise<NodeJS.ErrnoException>((r) => app.once('error', r));
    client.write('x');
    await new Promise((r) => app.once('data', r));
    client.resetAndDestroy();
    expect((await err).code).toBe('ECONNRESET');
    expect((await done).end).toBe('downstream_reset');
  });

  test('idle timeout: traffic keeps the session open; silence closes both sides', async () => {
    // Timing under a loaded machine: every check is against the gaps actually observed, so a
    // late timer in the test cannot pass for a session that closed early (or fail one that did not).
    const timeout = 400;
    const { client, app, done } = await open(timeout);
    const clientClosed = new Promise((r) => client.once('end', r)); // a FIN: the peers are half-open capable
    const appClosed = new Promise((r) => app.once('end', r));
    let closed = false;
    void done.then(() => (closed = true));
    let last = Date.now();
    let maxGap = 0;
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      client.write('.');
      last = now;
    }
    // ~400 ms of traffic, never `timeout` silent: still open (unless the test itself stalled that long).
    if (maxGap < timeout) expect(closed).toBe(false);
    const s = await done;
    expect(s.end).toBe('idle_timeout');
    // Closed for silence: not before `timeout` after the last byte (10 % timer slack).
    expect(Date.now() - last).toBeGreaterThanOrEqual(timeout * 0.9);
    await Promise.all([clientClosed, appClosed]);
  });

  test('close() resets both sides', async () => {
    const { client, app, session, done } = await open();
    const errs = [new Promise((r) => client.once('error', r)), new Promise((r) => app.once('error', r))];
    session.close();
    expect((await done).end).toBe('local_close');
    await Promise.all(errs);
  });
});

// The upstream reading into one reused buffer (UserBufferReader): each read is written downstream
// as a view of that buffer, so a read that overwrote bytes still queued would corrupt the stream.
// Random bytes and a checksum catch any such overwrite (constant bytes would not).
describe.each([
  ['the upstream', false, false],
  ['both sides (the downstream re-wrapped)', true, false],
  ['both sides, pipelined (reads go on while writes are pending)', true, true],
])('TcpProxySession, %s reading into its own buffer', (_name, both, pipelined) => {
  const readers = (): [UserBufferReader, UserBufferReader | undefined, boolean, boolean] =>
    [new UserBufferReader({ pipelined }), both ? new UserBufferReader({ pipelined }) : undefined, false, pipelined];
  /** What the proxy may hold toward a stalled reader: one read, or (pipelined) the queue limit and one read. */
  const bound = pipelined ? PIPELINE_HIGH + LARGE_READ_BYTES : LARGE_READ_BYTES;

  test('a bulk transfer to a slow reader arrives intact (checksum), with bounded buffering', async () => {
    const { client, app, downstream, done } = await proxied(0, {}, ...readers());
    const payload = randomBytes(24 * 1024 * 1024);
    client.pause();
    const sent = writeAll(app, payload);
    await new Promise((r) => setTimeout(r, 200));
    // The reader is stalled: the proxy holds about one read (pipelined: its queue limit), not the 24 MiB.
    expect(downstream.writableLength).toBeLessThanOrEqual(bound);
    // Then read slowly, in bursts, so writes keep queueing behind the reader.
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => client.once('end', r));
    const slow = setInterval(() => {
      client.resume();
      setTimeout(() => client.pause(), 2);
    }, 5);
    await sent;
    app.end();
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (Buffer.concat(chunks).length >= payload.length) { clearInterval(check); r(); }
      }, 20);
    });
    clearInterval(slow);
    client.resume();
    await ended;
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(payload.length);
    expect(sha(got)).toBe(sha(payload));
    client.end();
    const s = await done;
    expect(s.end).toBe('closed');
    expect(s.txBytes).toBe(payload.length);
  }, 60_000);

  test('several sessions at once, bursts then trickles, to slow readers: every stream intact', async () => {
    const sessions = await Promise.all([0, 1, 2].map(() => proxied(0, {}, ...readers())));
    const payloads = sessions.map(() => randomBytes(4 * 1024 * 1024));
    // The app sends a burst (reads fill the small buffer: a large one is taken), then small
    // writes (quiet reads: a large one is given back unless a write still holds it).
    const send = async (app: Socket, payload: Buffer): Promise<void> => {
      let at = 0;
      while (at < payload.length) {
        const burst = payload.subarray(at, at + 512 * 1024);
        at += burst.length;
        if (!app.write(burst)) await new Promise((r) => app.once('drain', r));
        for (let k = 0; k < 16 && at < payload.length; k++) {
          const small = payload.subarray(at, at + 1024);
          at += small.length;
          app.write(small);
          await new Promise((r) => setImmediate(r));
        }
      }
      app.end();
    };
    const results = sessions.map(({ client, app }, i) => {
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      client.pause();
      // Slow readers: long stalls (the proxy's writes to them stay pending), short reads.
      const slow = setInterval(() => {
        client.resume();
        setTimeout(() => client.pause(), 2);
      }, 20 + 5 * i);
      void send(app, payloads[i]!);
      return new Promise<Buffer>((r) => client.once('end', () => {
        clearInterval(slow);
        r(Buffer.concat(chunks));
      }));
    });
    const got = await Promise.all(results);
    for (let i = 0; i < got.length; i++) expect(sha(got[i]!)).toBe(sha(payloads[i]!));
    for (const { client } of sessions) client.end();
    await Promise.all(sessions.map((x) => x.done));
  }, 60_000);

  test('both ways at once, then half-close: every byte intact each way, the FIN after the last byte', async () => {
    const { client, app, done } = await proxied(0, {}, ...readers());
    const up = randomBytes(8 * 1024 * 1024);
    const down = randomBytes(8 * 1024 * 1024);
    const atApp = collect(app);
    const atClient = collect(client);
    await Promise.all([writeAll(client, up), writeAll(app, down)]);
    app.end(); // the upstream half-closes first: the client still sends
    await atClient.ended;
    expect(sha(atClient.data())).toBe(sha(down));
    client.end('tail');
    await atApp.ended;
    expect(sha(atApp.data())).toBe(sha(Buffer.concat([up, Buffer.from('tail')])));
    const s = await done;
    expect(s.end).toBe('closed');
    expect([s.rxBytes, s.txBytes]).toEqual([up.length + 4, down.length]);
  }, 60_000);

  test('an upstream reset after a bulk transfer resets the downstream; every byte before it intact', async () => {
    // The reset comes once the bytes are through: a RST sent while the receiver's window is full
    // lies outside it and is dropped by the kernel (RFC 5961), on either read path alike.
    const { client, app, done } = await proxied(0, {}, ...readers());
    const payload = randomBytes(4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    const clientErr = new Promise<Error>((r) => client.once('error', r));
    await writeAll(app, payload);
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (Buffer.concat(chunks).length >= payload.length) { clearInterval(check); r(); }
      }, 5);
    });
    app.resetAndDestroy();
    expect((await clientErr).message).toMatch(/ECONNRESET|EPIPE/);
    expect((await done).end).toBe('upstream_reset');
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
  }, 60_000);

  test('bytes the upstream read before the session attached are passed on first, in order', async () => {
    const reader = new UserBufferReader();
    const [client, downstream] = await pair();
    const [upstream, app] = await pair(reader);
    app.write('early;');
    await new Promise((r) => setTimeout(r, 100)); // read into the reader with no session yet
    let ended!: (s: TcpProxySession) => void;
    const done = new Promise<TcpProxySession>((r) => (ended = r));
    new TcpProxySession(downstream, upstream, { idleTimeoutMs: 0, upstreamReader: reader }, { onEnd: (s) => ended(s) });
    const atClient = collect(client);
    app.end('late');
    await atClient.ended;
    expect(atClient.data().toString()).toBe('early;late');
    client.end();
    expect((await done).txBytes).toBe(10);
  });

  test('a downstream reset mid-transfer resets the upstream', async () => {
    const { client, app, done } = await proxied(0, {}, ...readers());
    const appErr = new Promise<Error>((r) => app.once('error', r));
    void writeAll(app, randomBytes(16 * 1024 * 1024));
    await new Promise((r) => client.once('data', r));
    client.resetAndDestroy();
    expect((await appErr).message).toMatch(/ECONNRESET|EPIPE/);
    expect((await done).end).toBe('downstream_reset');
  }, 60_000);
});

// The downstream reading into its own buffer: the client → app direction now writes views of a
// reused buffer, so a slow app is what would expose an overwrite.
describe('TcpProxySession, the downstream reading into its own buffer', () => {
  test('a bulk upload to a slow app arrives intact (checksum), bounded, with the flow-control counts', async () => {
    const flow: boolean[] = [];
    const { client, app, upstream, done } = await proxied(0, { onDownstreamFlowControl: (p) => flow.push(p) }, new UserBufferReader(), new UserBufferReader());
    const payload = randomBytes(24 * 1024 * 1024);
    app.pause();
    const sent = writeAll(client, payload);
    // The app is stalled: once the kernel's buffers toward it are full the downstream is paused,
    // and the proxy holds about one read, not the 24 MiB.
    await until(() => flow.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(flow[0]).toBe(true);
    expect(upstream.writableLength).toBeLessThanOrEqual(LARGE_READ_BYTES);
    const chunks: Buffer[] = [];
    app.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => app.once('end', r));
    const slow = setInterval(() => {
      app.resume();
      setTimeout(() => app.pause(), 2);
    }, 5);
    await sent;
    client.end();
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (Buffer.concat(chunks).length >= payload.length) { clearInterval(check); r(); }
      }, 20);
    });
    clearInterval(slow);
    app.resume();
    await ended;
    const got = Buffer.concat(chunks);
    expect(sha(got)).toBe(sha(payload));
    app.end();
    const s = await done;
    expect(s.end).toBe('closed');
    expect(s.rxBytes).toBe(payload.length);
    // Paused and resumed in turn, ending resumed.
    expect(flow.filter((p) => p).length).toBe(flow.filter((p) => !p).length);
    for (let i = 0; i < flow.length; i++) expect(flow[i]).toBe(i % 2 === 0);
  }, 60_000);
});

// As TcpProxyServer runs it: the downstream starts on Node's reads and moves to a user buffer on
// its first full (64 KiB) read, in the middle of the stream.
describe('TcpProxySession, pipelined on both sides', () => {
  test('every buffer lent to a write is given back once the writes are done (one callback per direction)', async () => {
    const up = new UserBufferReader({ pipelined: true });
    const down = new UserBufferReader({ pipelined: true });
    const { client, app, done } = await proxied(0, {}, up, down, false, true);
    const toClient = randomBytes(8 * 1024 * 1024);
    const toApp = randomBytes(8 * 1024 * 1024);
    // Both readers stalled for a while, so writes queue and reads are lent to them.
    client.pause();
    app.pause();
    const sent = Promise.all([writeAll(app, toClient), writeAll(client, toApp)]);
    // Until a read is lent (an event, not a fixed wait: a loaded machine may take longer than any).
    await until(() => up.lentBuffers + down.lentBuffers > 0);
    const atClient = collect(client);
    const atApp = collect(app);
    client.resume();
    app.resume();
    await sent;
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (atClient.data().length >= toClient.length && atApp.data().length >= toApp.length) { clearInterval(check); r(); }
      }, 20);
    });
    // Every byte is out: every write called back, every lent buffer back (the session still open).
    await new Promise((r) => setImmediate(r));
    expect(up.lentBuffers).toBe(0);
    expect(down.lentBuffers).toBe(0);
    expect(sha(atClient.data())).toBe(sha(toClient));
    expect(sha(atApp.data())).toBe(sha(toApp));
    client.end();
    app.end();
    expect((await done).end).toBe('closed');
  }, 60_000);
});

describe.each([
  ['', false],
  [', pipelined', true],
])('TcpProxySession, the downstream moved to its own buffer on a bulk read%s', (_name, pipelined) => {
  const bound = pipelined ? PIPELINE_HIGH + LARGE_READ_BYTES : LARGE_READ_BYTES;
  test('a short exchange never moves it; bytes both ways and each FIN passed on', async () => {
    const { client, app, session, done } = await proxied(0, {}, new UserBufferReader({ pipelined }), undefined, true, pipelined);
    const atApp = collect(app);
    const atClient = collect(client);
    client.end('ping');
    await atApp.ended;
    app.end('pong!');
    await atClient.ended;
    expect([atApp.data().toString(), atClient.data().toString()]).toEqual(['ping', 'pong!']);
    expect(session.downstreamUserBuffer).toBe(false);
    expect((await done).end).toBe('closed');
  });

  test('a bulk upload to a slow app moves it mid-stream: intact (checksum), bounded, flow control paired', async () => {
    const flow: boolean[] = [];
    const { client, app, upstream, session, done } = await proxied(0, { onDownstreamFlowControl: (p) => flow.push(p) }, new UserBufferReader({ pipelined }), undefined, true, pipelined);
    expect(session.downstreamUserBuffer).toBe(false);
    const payload = randomBytes(24 * 1024 * 1024);
    app.pause();
    const sent = writeAll(client, payload);
    await until(() => flow.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(session.downstreamUserBuffer).toBe(true);
    expect(upstream.writableLength).toBeLessThanOrEqual(bound + 64 * 1024);
    const chunks: Buffer[] = [];
    app.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => app.once('end', r));
    const slow = setInterval(() => {
      app.resume();
      setTimeout(() => app.pause(), 2);
    }, 5);
    await sent;
    client.end();
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (Buffer.concat(chunks).length >= payload.length) { clearInterval(check); r(); }
      }, 20);
    });
    clearInterval(slow);
    app.resume();
    await ended;
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    app.end();
    const s = await done;
    expect(s.end).toBe('closed');
    expect(s.rxBytes).toBe(payload.length);
    for (let i = 0; i < flow.length; i++) expect(flow[i]).toBe(i % 2 === 0);
    expect(flow.length % 2).toBe(0);
  }, 60_000);

  test('both ways at once, moved mid-stream, then half-close: every byte intact each way', async () => {
    const { client, app, session, done } = await proxied(0, {}, new UserBufferReader({ pipelined }), undefined, true, pipelined);
    const up = randomBytes(8 * 1024 * 1024);
    const down = randomBytes(8 * 1024 * 1024);
    const atApp = collect(app);
    const atClient = collect(client);
    await Promise.all([writeAll(client, up), writeAll(app, down)]);
    expect(session.downstreamUserBuffer).toBe(true);
    app.end();
    await atClient.ended;
    expect(sha(atClient.data())).toBe(sha(down));
    client.end('tail');
    await atApp.ended;
    expect(sha(atApp.data())).toBe(sha(Buffer.concat([up, Buffer.from('tail')])));
    const s = await done;
    expect(s.end).toBe('closed');
    expect([s.rxBytes, s.txBytes]).toEqual([up.length + 4, down.length]);
  }, 60_000);

  test('a downstream reset after the move resets the upstream; close() resets both', async () => {
    const { client, app, session, done } = await proxied(0, {}, new UserBufferReader({ pipelined }), undefined, true, pipelined);
    const appErr = new Promise<Error>((r) => app.once('error', r));
    // Reset once the bytes are through (a RST behind a full window is dropped: see above).
    const atApp = collect(app);
    await writeAll(client, randomBytes(2 * 1024 * 1024));
    await until(() => atApp.data().length === 2 * 1024 * 1024);
    expect(session.downstreamUserBuffer).toBe(true);
    client.resetAndDestroy();
    expect((await appErr).message).toMatch(/ECONNRESET|EPIPE/);
    expect((await done).end).toBe('downstream_reset');

    const second = await proxied(0, {}, new UserBufferReader({ pipelined }), undefined, true, pipelined);
    const errs = [new Promise((r) => second.client.once('error', r)), new Promise((r) => second.app.once('error', r))];
    const atApp2 = collect(second.app);
    await writeAll(second.client, randomBytes(2 * 1024 * 1024));
    await until(() => atApp2.data().length === 2 * 1024 * 1024);
    expect(second.session.downstreamUserBuffer).toBe(true);
    second.session.close();
    await Promise.all(errs);
    expect((await second.done).end).toBe('local_close');
  }, 60_000);
});

// Envoy's per_connection_buffer_limit_bytes (limits.perConnectionBufferLimitBytes toward the
// downstream, upstreamPerConnectionBufferLimitBytes toward the upstream), as TcpProxyServer runs
// the session (pipelined, the downstream moved on a bulk read): a stalled reader makes the proxy
// hold at most the limit plus the one read that crossed it — far below the 1 MiB default.
describe('TcpProxySession buffer limits (per_connection_buffer_limit_bytes)', () => {
  const LIMIT = 64 * 1024;
  /** Samples `s.writableLength` every ms until stopped: the most the proxy held toward `s`. */
  function maxQueued(s: () => Socket): { stop: () => number } {
    let max = 0;
    const t = setInterval(() => { max = Math.max(max, s().writableLength); }, 1);
    return { stop: () => { clearInterval(t); return max; } };
  }

  test('toward a stalled downstream: at most the listener limit and one read queued, then every byte arrives', async () => {
    const { client, app, downstream, done } = await proxied(0, {}, new UserBufferReader({ pipelined: true }), undefined, true, true, { toDownstream: LIMIT, toUpstream: PIPELINE_HIGH });
    const payload = randomBytes(16 * 1024 * 1024);
    client.pause();
    const sampler = maxQueued(() => downstream);
    void writeAll(app, payload);
    // Long enough for the kernel's buffers to fill and the proxy to reach its limit.
    await until(() => downstream.writableLength >= LIMIT);
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    client.resume();
    await until(() => Buffer.concat(chunks).length >= payload.length);
    const max = sampler.stop();
    expect(max).toBeGreaterThanOrEqual(LIMIT);
    expect(max).toBeLessThanOrEqual(LIMIT + LARGE_READ_BYTES);
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    client.end();
    app.end();
    expect((await done).end).toBe('closed');
  }, 60_000);

  test('toward a stalled upstream: at most the cluster limit and one read queued, with the flow-control counts', async () => {
    const flow: boolean[] = [];
    const { client, app, upstream, session, done } = await proxied(0, { onDownstreamFlowControl: (p) => flow.push(p) }, new UserBufferReader({ pipelined: true }), undefined, true, true, { toDownstream: PIPELINE_HIGH, toUpstream: LIMIT });
    const payload = randomBytes(16 * 1024 * 1024);
    app.pause();
    const sampler = maxQueued(() => upstream);
    void writeAll(client, payload);
    await until(() => session.downstreamUserBuffer && upstream.writableLength >= LIMIT);
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    app.on('data', (c: Buffer) => chunks.push(c));
    app.resume();
    await until(() => Buffer.concat(chunks).length >= payload.length);
    const max = sampler.stop();
    expect(max).toBeGreaterThanOrEqual(LIMIT);
    expect(max).toBeLessThanOrEqual(LIMIT + LARGE_READ_BYTES);
    expect(sha(Buffer.concat(chunks))).toBe(sha(payload));
    expect(flow[0]).toBe(true);
    client.end();
    app.end();
    expect((await done).end).toBe('closed');
  }, 60_000);
});

describe('TcpProxySession, a TLS side (mesh mTLS terminated here)', () => {
  /** client --TLS--> [TLS server side | proxy | plain side] --> app; the TLS side hands its plaintext over record by record. */
  async function tlsProxied() {
    const ca = await testMeshCa();
    const server = await workloadCertificate(ca, 'shop', 'cart');
    const client = await workloadCertificate(ca, 'shop', 'client');
    const tlsServer = createTlsServer({ cert: server.certChainPem, key: server.keyPem, ca: ca.rootsPem, requestCert: true, allowHalfOpen: true, pauseOnConnect: true });
    servers.push(tlsServer);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    const secured = new Promise<TLSSocket>((r) => tlsServer.once('secureConnection', r));
    const c = tlsConnect({ host: '127.0.0.1', port: (tlsServer.address() as { port: number }).port, ca: ca.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined, allowHalfOpen: true });
    sockets.push(c);
    const down = await secured;
    sockets.push(down);
    const [up, app] = await pair();
    let ended!: (s: TcpProxySession) => void;
    const done = new Promise<TcpProxySession>((r) => (ended = r));
    const session = new TcpProxySession(down, up, { idleTimeoutMs: 0 }, { onEnd: (s) => ended(s) });
    return { client: c, down, up, app, session, done };
  }

  test('the records of one read go to the peer in one write (a writev); every byte in order, then the FIN', async () => {
    const p = await tlsProxied();
    let records = 0;
    p.down.on('data', () => records++);
    // Each batch of records is written corked: one writev (a batch of one, a plain write).
    const cork = vi.spyOn(p.up, 'cork');
    const write = vi.spyOn(p.up, 'write');
    const payload = randomBytes(1024 * 1024);
    const got = collect(p.app);
    p.app.resume();
    await writeAll(p.client, payload);
    p.client.end();
    await got.ended;
    expect(sha(got.data())).toBe(sha(payload));
    // 16 KiB records: at least 64 handed over, each written, in fewer batches than records.
    expect(records).toBeGreaterThanOrEqual(64);
    expect(write).toHaveBeenCalledTimes(records);
    expect(cork).toHaveBeenCalled();
    expect(cork.mock.calls.length).toBeLessThan(records);
    p.app.end();
    const s = await p.done;
    expect(s.end).toBe('closed');
    expect(s.rxBytes).toBe(payload.length);
  });
});
