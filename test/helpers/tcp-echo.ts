// The TCP backend the TCP proxy tests route to: an echo on 127.0.0.1 that answers each chunk as
// `<name>:<chunk>` (so a reply says which backend a connection reached) and half-closes when the
// client does. One definition for the gateway, interop and TcpProxyServer tests.
import { createServer, type Server } from 'node:net';

export type TcpEchoServer = Server & {
  /** Its port (on 127.0.0.1, or the host it was started on). */
  port: number;
  /** Connections it accepted so far. */
  accepted: number;
};

/** Starts an echo named `name` on a free port of `host` (127.0.0.1 unless said); the caller closes it. */
export async function tcpEchoServer(name: string, host = '127.0.0.1'): Promise<TcpEchoServer> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    server.accepted++;
    s.on('data', (d) => s.write(`${name}:${d.toString()}`));
    s.on('end', () => s.end());
    s.on('error', () => {});
  }) as TcpEchoServer;
  server.accepted = 0;
  await new Promise<void>((r) => server.listen(0, host, r));
  server.port = (server.address() as { port: number }).port;
  return server;
}
