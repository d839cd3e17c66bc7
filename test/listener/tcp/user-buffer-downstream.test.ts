// rewrapWithUserBuffer over real loopback sockets: an accepted socket's handle moved to a socket
// reading into a reused buffer — bytes put back before (a ClientHello, sniffed bytes) come first,
// the listener's bookkeeping follows the new socket (net.Server's connection count, a destroy of
// the old object), and a socket whose end was already read is left as it is.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { rewrapWithUserBuffer } from '../../../host/listener/tcp/user-buffer-downstream.js';
import { UserBufferReader } from '../../../host/listener/tcp/user-buffer-reader.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function accept(): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const s = await accepted;
  sockets.push(client, s);
  return { server, client, accepted: s };
}

/** Everything the reader hands over until the socket's end. */
function drain(reader: UserBufferReader, socket: Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  // A copy is kept, so the reader's buffer is free again as soon as the sink returns (false).
  reader.attach((n, buf) => {
    got.push(Buffer.from(buf.subarray(0, n)));
    return false;
  }, socket);
  socket.resume();
  return new Promise((r) => socket.once('end', () => r(Buffer.concat(got))));
}

const connections = (server: Server): Promise<number> => new Promise((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));

describe('rewrapWithUserBuffer', () => {
  test('a paused accepted socket: every byte through the reader, the FIN as end', async () => {
    const { client, accepted } = await accept();
    const reader = new UserBufferReader();
    const down = rewrapWithUserBuffer(accepted, reader);
    expect(down).not.toBeNull();
    sockets.push(down!);
    const got = drain(reader, down!);
    client.end('hello, user buffer');
    expect((await got).toString()).toBe('hello, user buffer');
    // The new socket writes on the same connection.
    const back = new Promise<string>((r) => client.once('data', (c: Buffer) => r(c.toString())));
    down!.end('bye');
    expect(await back).toBe('bye');
  });

  test('bytes read and put back before (unshift, as the tls_inspector and the sniffer do) come first, in order', async () => {
    const { client, accepted } = await accept();
    client.write('first-bytes;');
    const first = await new Promise<Buffer>((r) => {
      accepted.once('data', (c: Buffer) => {
        accepted.pause();
        r(c);
      });
      accepted.resume();
    });
    accepted.unshift(first);
    const reader = new UserBufferReader();
    const down = rewrapWithUserBuffer(accepted, reader);
    expect(down).not.toBeNull();
    sockets.push(down!);
    const got = drain(reader, down!);
    client.end('then-the-rest');
    expect((await got).toString()).toBe('first-bytes;then-the-rest');
  });

  test("net.Server's connection count follows the new socket; destroying the old object closes the new one", async () => {
    const { server, client, accepted } = await accept();
    const down = rewrapWithUserBuffer(accepted, new UserBufferReader())!;
    sockets.push(down);
    expect(await connections(server)).toBe(1);
    down.destroy();
    await new Promise((r) => accepted.once('close', r));
    expect(await connections(server)).toBe(0);

    const second = await accept();
    const down2 = rewrapWithUserBuffer(second.accepted, new UserBufferReader())!;
    sockets.push(down2);
    // The client sees the connection closed (its FIN: the new socket's handle was closed).
    const clientEnded = new Promise((r) => second.client.once('end', r));
    second.accepted.destroy(); // as TcpListener.closeAll does
    await new Promise((r) => down2.once('close', r));
    await clientEnded;
    client.destroy();
  });

  test('a socket whose end of stream was already read is left as it is (null)', async () => {
    const { client, accepted } = await accept();
    client.end('all of it');
    accepted.read(0); // reading starts; the bytes and the FIN are buffered, nothing consumed
    // Until both are in (the stream's own state, which rewrapWithUserBuffer reads), not a 100 ms settle.
    const state = (accepted as unknown as { _readableState: { ended: boolean } })._readableState;
    while (!(state.ended && accepted.readableLength === 9)) await new Promise((r) => setTimeout(r, 5));
    expect(accepted.readableLength).toBe(9);
    expect(rewrapWithUserBuffer(accepted, new UserBufferReader())).toBeNull();
    // Still readable as it was: the bytes, then the end.
    const chunks: Buffer[] = [];
    accepted.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => accepted.once('end', r));
    accepted.resume();
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('all of it');
  });

  test('a socket already destroyed, or not a TCP handle, is not re-wrapped', async () => {
    const { accepted } = await accept();
    accepted.destroy();
    expect(rewrapWithUserBuffer(accepted, new UserBufferReader())).toBeNull();
  });
});
