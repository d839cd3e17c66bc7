// An upstream TCP connect on Node's raw handle (the byte proxy's handle transport): what
// net.connect does for an IP address, without the net.Socket — bind to a local address if
// asked, connect, then TCP_NODELAY and keepalive, reads into the given reader from the connect
// on. 'connect' on success; a refused or failed connect is 'error' then 'close', as net.connect's.
import { isIP } from 'node:net';
import { HandleSocket, uvError } from './handle-socket.js';
import type { ConnectReq, TcpHandleBinding } from './tcp-handle-binding.js';
import type { UserBufferReader } from './user-buffer-reader.js';

export interface HandleConnectOptions {
  /** The source address to bind to first (an IP). */
  localAddress?: string | undefined;
  /** SO_KEEPALIVE with this initial delay (ms; whole seconds as net.Socket rounds them); null: off. */
  keepAliveInitialDelayMs: number | null;
}

interface PendingConnect extends ConnectReq {
  owner: HandleSocket;
  keepAliveMs: number | null;
}

function afterConnect(this: ConnectReq, status: number): void {
  const req = this as PendingConnect;
  const s = req.owner;
  if (s.destroyed) return;
  if (status < 0) {
    s.destroy(uvError(status, 'connect'));
    return;
  }
  s.connecting = false;
  s.handle.setNoDelay(true);
  if (req.keepAliveMs !== null) s.handle.setKeepAlive(true, Math.floor(req.keepAliveMs / 1000));
  s.emit('connect');
  s.startReading();
}

/** Whether `address` can be connected to on a raw handle (an IP address; a name needs net.connect's lookup). */
export function handleConnectable(address: string): boolean {
  return isIP(address) !== 0;
}

/** Connects to `address` (an IP: handleConnectable) and `port`; the socket reads into `reader` once connected. */
export function connectHandle(binding: TcpHandleBinding, address: string, port: number, reader: UserBufferReader, opts: HandleConnectOptions): HandleSocket {
  const v6 = isIP(address) === 6;
  const s = new HandleSocket(binding, binding.newSocketHandle(), { paused: false, reader });
  s.connecting = true;
  const req = binding.newConnectReq() as PendingConnect;
  req.oncomplete = afterConnect;
  req.address = address;
  req.port = port;
  req.owner = s;
  req.keepAliveMs = opts.keepAliveInitialDelayMs;
  let err = 0;
  let syscall = 'bind';
  const local = opts.localAddress;
  if (local !== undefined) err = isIP(local) === 6 ? s.handle.bind6(local, 0, 0) : s.handle.bind(local, 0);
  if (err === 0) {
    syscall = 'connect';
    err = v6 ? s.handle.connect6(req, address, port) : s.handle.connect(req, address, port);
  }
  if (err !== 0) {
    // As net.connect: the error comes after the caller has put its listeners on.
    const e = uvError(err, syscall);
    process.nextTick(() => s.destroy(e));
  }
  return s;
}
