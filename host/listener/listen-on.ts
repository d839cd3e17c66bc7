// Binds a net.Server at host:port, or adopts an already listening descriptor (socket activation,
// host/listener/socket-activation.ts), and answers the bound port; a failure names where and why
// with the stable LISTEN_FAILED code. Shared by the sidecar's capture listeners.
import type { Server } from 'node:net';

export interface ListenAt {
  readonly host: string;
  readonly port: number;
  /** A listening descriptor handed over instead of binding host:port. */
  readonly fd?: number;
}

/** Listens as `at` says; resolves with the bound port (host:port's own when the address is not a port). */
export function listenOn(server: Server, at: ListenAt): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = at.fd;
    const onError = (err: Error): void => reject(new Error(`wasmesh: cannot listen on ${fd === undefined ? `${at.host}:${at.port}` : `descriptor ${fd}`}: ${err.message} (LISTEN_FAILED)`));
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : at.port);
    };
    if (fd !== undefined) server.listen({ fd }, done);
    else server.listen({ host: at.host, port: at.port, exclusive: true }, done);
  });
}
