// Listening and closing a node:http server the way every off-hot-path port of wasmesh does
// (admin API, health port, demo apps): a bind failure becomes a ListenError naming the port's
// role, and close() drops open keep-alive connections so that shutdown is prompt.
import type { Server } from 'node:http';
import { listenError } from './listen-error.js';

/** Listens on host:port (0: a free one); rejects with a ListenError naming `role`. */
export function listenHttpServer(server: Server, role: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, role, host, port)));
    server.listen(port, host, () => resolve());
  });
}

/** Stops accepting and closes every connection, idle keep-alive ones too; at once when not listening. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Probes and the proxy's pools keep connections open: they must not hold shutdown up.
    server.closeAllConnections();
  });
}
