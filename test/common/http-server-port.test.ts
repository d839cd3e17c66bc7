// listenHttpServer / closeHttpServer over loopback: a busy port is a ListenError naming the role,
// close() does not wait for an idle keep-alive connection, and closing what never listened is a
// no-op.
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import net from 'node:net';
import { closeHttpServer, listenHttpServer } from '../../host/common/http-server-port.js';
import { ListenError } from '../../host/common/listen-error.js';

describe('listenHttpServer', () => {
  it('names the role and the port when the port is taken', async () => {
    const first = createServer();
    await listenHttpServer(first, 'admin', '127.0.0.1', 0);
    const port = (first.address() as net.AddressInfo).port;
    try {
      const err = await listenHttpServer(createServer(), 'health', '127.0.0.1', port).catch((e) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ code: 'port_in_use', role: 'health', port, message: `health port ${port} on 127.0.0.1 is already in use` });
    } finally {
      await closeHttpServer(first);
    }
  });
});

describe('closeHttpServer', () => {
  it('closes at once with an idle keep-alive connection open', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 60_000;
    await listenHttpServer(server, 'app', '127.0.0.1', 0);
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve());
      socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    const started = Date.now();
    await closeHttpServer(server);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.listening).toBe(false);
    socket.destroy();
  });

  it('resolves for a server that never listened', async () => {
    await expect(closeHttpServer(createServer())).resolves.toBeUndefined();
  });
});
