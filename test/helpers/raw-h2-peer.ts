// A scriptable raw HTTP/2 server peer on a loopback socket, for what a well-behaved node:http2
// server never sends (floods, GOAWAY below a received stream, missing SETTINGS ACKs, broken HPACK):
// it checks the client's preface, splits what the client sends into frames, records each (with the
// index of its connection) and hands it to the test's `onFrame`, which answers by writing frames
// (h2-wire.ts's frame()/settings()) to the socket. The SETTINGS exchange is an option so a test can
// withhold it.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { HTTP2_PREFACE } from '../../host/listener/protocol-sniff.js';
import { frame, settings, ACK, SETTINGS } from '../listener/http2-core/h2-wire.js';

/** One frame the client sent. `conn`: the index of its connection (0 for the first accepted). */
export interface PeerFrame { type: number; flags: number; stream: number; payload: Buffer; conn: number }

export interface RawH2PeerOptions {
  /**
   * When the peer sends its own SETTINGS: 'reply' (default) on the client's SETTINGS, 'connect' as
   * soon as a connection is accepted, 'never' (the client waits for them in vain).
   */
  sendSettings?: 'reply' | 'connect' | 'never';
  /** The peer's SETTINGS frame (default: empty). */
  serverSettings?: Buffer;
  /** Whether the client's SETTINGS are ACKed (default true; false: the client's SETTINGS timeout runs). */
  ackSettings?: boolean;
}

export interface RawH2Peer {
  port: number;
  /** Every frame the client sent, on every connection, in order of arrival. */
  seen: PeerFrame[];
  /** The accepted connections, in order. */
  conns: Socket[];
  /** Indexes (into `conns`) of the connections that have closed, in order of closing. */
  closed: number[];
  /** Destroys every connection and closes the listener. */
  close(): Promise<void>;
}

export async function rawH2Peer(onFrame: (f: PeerFrame, sock: Socket, seen: PeerFrame[]) => void = () => {}, opts: RawH2PeerOptions = {}): Promise<RawH2Peer> {
  const sendSettings = opts.sendSettings ?? 'reply';
  const ourSettings = (): Buffer => opts.serverSettings ?? settings([]);
  const seen: PeerFrame[] = [];
  const conns: Socket[] = [];
  const closed: number[] = [];
  const server = createServer((sock) => {
    const conn = conns.length;
    conns.push(sock);
    sock.on('error', () => {});
    sock.on('close', () => closed.push(conn));
    if (sendSettings === 'connect') sock.write(ourSettings());
    let buf = Buffer.alloc(0);
    let preface = false;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!preface) {
        if (buf.length < HTTP2_PREFACE.length) return;
        if (!buf.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE)) {
          sock.destroy();
          throw new Error(`raw h2 peer: the client's preface is ${JSON.stringify(buf.subarray(0, HTTP2_PREFACE.length).toString('latin1'))}`);
        }
        buf = buf.subarray(HTTP2_PREFACE.length);
        preface = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f: PeerFrame = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(buf.subarray(9, 9 + len)), conn };
        buf = buf.subarray(9 + len);
        seen.push(f);
        if (f.type === SETTINGS && (f.flags & ACK) === 0) {
          if (sendSettings === 'reply') sock.write(ourSettings());
          if (opts.ackSettings !== false) sock.write(frame(SETTINGS, ACK, 0));
        }
        onFrame(f, sock, seen);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    conns,
    closed,
    close: () => new Promise<void>((r) => {
      for (const s of conns) s.destroy();
      server.close(() => r());
    }),
  };
}
