// WebSocket to an HTTP/2 upstream (RFC 8441), as Envoy maps an HTTP/1.1 upgrade onto an HTTP/2
// stream (transformUpgradeRequestFromH1toH2 / transformUpgradeResponseFromH2toH1): when the
// upstream advertised SETTINGS_ENABLE_CONNECT_PROTOCOL, the upgrade request goes as an extended
// CONNECT (`:method CONNECT`, `:protocol websocket`, :scheme, :path, :authority kept); its
// `:status 200` comes back as the `101` the router's upgrade path expects (with
// `sec-websocket-accept` computed from the client's key, which RFC 8441 drops, so an HTTP/1.1
// client's handshake completes), and the stream's DATA frames both ways become the tunnel's
// upstream end (a TunnelEnd: END_STREAM as FIN, RST_STREAM as reset, flow control as backpressure).
import { createHash } from 'node:crypto';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { TunnelEnd, TunnelSink } from '../../../common/tunnel-end.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import type { ResponseHead } from '../../upstream-head.js';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The upgrade request's HTTP/2 headers as an extended CONNECT for `protocol` (in place). */
export function toExtendedConnect(headers: OutgoingHttpHeaders, protocol: string): void {
  headers[':method'] = 'CONNECT';
  headers[':protocol'] = protocol.toLowerCase();
  // A CONNECT carries no body framing: the stream is the tunnel.
  delete headers['content-length'];
}

/**
 * The `101` for the extended CONNECT's 2xx answer (Envoy: any 2xx), or null when the answer is
 * no success (it is then a normal response). `key`: the client's Sec-WebSocket-Key, if any.
 */
export function upgradeResponseHead(codec: Http1Codec, headers: IncomingHttpHeaders, protocol: string, key: string | null): ResponseHead | { error: string } | null {
  const code = Number(headers[':status']);
  if (!(code >= 200 && code < 300)) return null;
  let text = `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${protocol}\r\nconnection: upgrade\r\n`;
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* : */ || name === 'content-length') continue;
    const v = headers[name];
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) text += `${name}: ${x}\r\n`;
  }
  if (key !== null && headers['sec-websocket-accept'] === undefined) {
    text += `sec-websocket-accept: ${createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64')}\r\n`;
  }
  text += '\r\n';
  const parsed = codec.parseResponseHead(Buffer.from(text, 'latin1'), false);
  if (parsed.status !== 'ok') return { error: parsed.status === 'error' ? parsed.code : 'incomplete head' };
  return { code: 101, framing: 'none', contentLength: -1, fields: parsed.head.fields, grpcStatus: -1 };
}

/** The upstream end of a tunnel over an HTTP/2 stream; `done` once, when the stream closed. */
export class H2StreamTunnelEnd implements TunnelEnd {
  readonly #req: ClientHttp2Stream;
  readonly #done: () => void;
  readonly #count: (bytes: number, rx: boolean) => void;
  #sink: TunnelSink | null = null;

  constructor(req: ClientHttp2Stream, count: (bytes: number, rx: boolean) => void, done: () => void) {
    this.#req = req;
    this.#count = count;
    this.#done = done;
    req.removeAllListeners('data');
    req.removeAllListeners('end');
    req.removeAllListeners('drain');
    req.removeAllListeners('close');
    req.removeAllListeners('trailers');
    req.pause();
  }

  attach(sink: TunnelSink): void {
    this.#sink = sink;
    const req = this.#req;
    req.on('data', (chunk: Buffer) => {
      this.#count(chunk.length, true);
      sink.onData(chunk);
    });
    req.on('end', () => sink.onEnd());
    req.on('drain', () => sink.onDrain());
    req.on('close', () => {
      const code = req.rstCode;
      this.#done();
      sink.onClose(code !== undefined && code !== constants.NGHTTP2_NO_ERROR);
    });
    req.resume();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#req.destroyed || this.#req.writableEnded) return true;
    this.#count(bytes.length, false);
    return this.#req.write(Buffer.from(bytes));
  }

  pause(): void {
    this.#req.pause();
  }

  resume(): void {
    this.#req.resume();
  }

  shutdown(): void {
    if (!this.#req.writableEnded) this.#req.end();
  }

  reset(): void {
    if (!this.#req.closed && !this.#req.destroyed) this.#req.close(constants.NGHTTP2_CANCEL);
    if (this.#sink === null) this.#done();
  }
}
