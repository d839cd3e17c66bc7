// ws exports its frame codec, Sender and Receiver (node_modules/ws/wrapper.mjs, index.js), which
// @types/ws 8 does not declare. The tests that run WebSocket frames on an HTTP/2 stream
// (test/helpers/h2-websocket.ts, RFC 8441) use them directly; declared here as ws 8.18's
// lib/sender.js and lib/receiver.js define them, so those calls are checked instead of cast.
import type { Duplex, Writable } from 'node:stream';
import 'ws';

declare module 'ws' {
  interface ReceiverOptions {
    allowSynchronousEvents?: boolean;
    binaryType?: 'nodebuffer' | 'arraybuffer' | 'fragments';
    extensions?: Record<string, unknown>;
    /** Server side: frames from the peer must be masked. */
    isServer?: boolean;
    /** The largest message accepted; 0: no limit. */
    maxPayload?: number;
    skipUTF8Validation?: boolean;
  }

  /** Parses WebSocket frames written to it; emits `message` (data, isBinary), `conclude` (code, reason), `ping`, `pong`, `error`. */
  export class Receiver extends Writable {
    constructor(options?: ReceiverOptions);
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
    on(event: 'conclude', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }

  interface SenderSendOptions {
    binary?: boolean;
    compress?: boolean;
    /** The last fragment of the message. */
    fin?: boolean;
    /** Client side: frames to the peer are masked. */
    mask?: boolean;
    rsv1?: boolean;
  }

  /** Writes WebSocket frames to `socket` (any duplex: a net socket, an HTTP/2 stream). */
  export class Sender {
    constructor(socket: Duplex, extensions?: Record<string, unknown>, generateMask?: (mask: Buffer) => void);
    send(data: Buffer | string, options: SenderSendOptions, cb?: (err?: Error) => void): void;
    close(code?: number, data?: string | Buffer, mask?: boolean, cb?: (err?: Error) => void): void;
    ping(data: Buffer | string, mask: boolean, cb?: (err?: Error) => void): void;
    pong(data: Buffer | string, mask: boolean, cb?: (err?: Error) => void): void;
  }
}
