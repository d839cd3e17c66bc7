// The plain-TCP transport socket (Envoy's raw_buffer): a net.connect socket with reads through
// `onread`, Nagle off and TCP keepalive as asked. Every cluster uses it today.
import { connect, type Socket } from 'node:net';
import type { TransportSocketFactory, TransportSocketOptions } from './transport-socket.js';

export class RawTransportSocketFactory implements TransportSocketFactory {
  readonly readyEvent = 'connect';

  connect(host: string, port: number, options: TransportSocketOptions): Socket {
    const socket = connect({ host, port, onread: options.onread });
    socket.setNoDelay(options.noDelay);
    // Node sets only the idle time before the first probe (SO_KEEPALIVE + TCP_KEEPIDLE).
    if (options.keepAlive) socket.setKeepAlive(true, options.keepAlive.timeMs);
    return socket;
  }
}

/** The one raw factory (it holds no state). */
export const RAW_TRANSPORT: TransportSocketFactory = new RawTransportSocketFactory();
