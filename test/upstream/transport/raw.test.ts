// The raw transport socket over real loopback sockets: it connects, delivers every read
// through `onread` into the caller's buffer, applies nodelay and keepalive as asked, and
// reports a refused connect as an `error` event.
import { describe, it, expect, afterEach, vi } from 'vitest';
import { Socket } from 'node:net';
import { RAW_TRANSPORT, RawTransportSocketFactory } from '../../../host/upstream/transport/raw.js';
import type { TransportSocketOptions } from '../../../host/upstream/transport/transport-socket.js';
import { startRawUpstream, type RawUpstream } from '../../helpers/upstream-servers.js';
import { closedPort } from '../../helpers/ports.js';

let servers: RawUpstream[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers) await s.close();
  servers = [];
});

function options(buffer: Uint8Array, onRead: (bytes: Uint8Array, buf: Uint8Array) => void, over: Partial<TransportSocketOptions> = {}): TransportSocketOptions {
  return {
    onread: {
      buffer,
      callback: (n, buf) => {
        onRead(Uint8Array.prototype.slice.call(buf, 0, n), buf);
        return true;
      },
    },
    noDelay: true,
    keepAlive: null,
    ...over,
  };
}

describe('RawTransportSocketFactory', () => {
  it('connects and delivers each read through onread, into the given buffer', async () => {
    const up = await startRawUpstream((s) => {
      s.write('hello ');
      setTimeout(() => s.end('world'), 20);
    });
    servers.push(up);
    const buffer = new Uint8Array(1024);
    const reads: Uint8Array[] = [];
    const buffers = new Set<Uint8Array>();
    let dataEvents = 0;
    const socket = RAW_TRANSPORT.connect('127.0.0.1', up.port, options(buffer, (bytes, buf) => {
      reads.push(bytes);
      buffers.add(buf);
    }));
    sockets.push(socket);
    expect(socket).toBeInstanceOf(Socket);
    socket.on('data', () => dataEvents++);
    await new Promise<void>((resolve) => socket.once(RAW_TRANSPORT.readyEvent, resolve));
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(Buffer.concat(reads).toString()).toBe('hello world');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    // Every read landed in the caller's buffer: no Buffer per read, no 'data' events.
    expect([...buffers]).toEqual([buffer]);
    expect(dataEvents).toBe(0);
  });

  it('sets nodelay, and keepalive only when asked, with its idle time', async () => {
    const up = await startRawUpstream(() => {});
    servers.push(up);
    const noDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    const keepAlive = vi.spyOn(Socket.prototype, 'setKeepAlive');
    const factory = new RawTransportSocketFactory();
    sockets.push(factory.connect('127.0.0.1', up.port, options(new Uint8Array(64), () => {})));
    expect(noDelay).toHaveBeenLastCalledWith(true);
    expect(keepAlive).not.toHaveBeenCalled();
    sockets.push(factory.connect('127.0.0.1', up.port, options(new Uint8Array(64), () => {}, { keepAlive: { timeMs: 7_000 } })));
    expect(keepAlive).toHaveBeenCalledTimes(1);
    expect(keepAlive).toHaveBeenLastCalledWith(true, 7_000);
  });

  it('reports a refused connect as an error event, not a throw', async () => {
    const port = await closedPort();
    const socket = RAW_TRANSPORT.connect('127.0.0.1', port, options(new Uint8Array(64), () => {}));
    sockets.push(socket);
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
    expect(err.code).toBe('ECONNREFUSED');
  });
});
