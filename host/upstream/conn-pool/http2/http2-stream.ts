// One exchange on a pooled HTTP/2 connection (Envoy's RequestEncoder/ResponseDecoder pair for a
// stream): the request head as HTTP/2 headers, body DATA with the stream's flow control as
// backpressure both ways, the response head through the codec's filter, trailers passed on, and
// the stream's end mapped to the seam's failures (RST_STREAM → remote_reset, REFUSED_STREAM or a
// GOAWAY above it → refused_stream, the session gone → reset). A response is complete only with
// the peer's END_STREAM (h2-end-stream.ts): one closed after its head without it, by a
// RST_STREAM of any code or the connection lost, is reset_mid_response, never a whole response.
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { ExchangeHandler, StreamStart, UpstreamFailure, UpstreamStream } from '../conn-pool.js';
import { h2RequestHeaders, H2HeadError, type H2Upgrade } from './h2-request-headers.js';
import { flatTrailers, h2ResponseHead } from './h2-response-head.js';
import type { ClientHttp2Session } from 'node:http2';
import type { ClusterStats } from '../../../telemetry/stats.js';
import type { Http1Codec } from '../http1/http1-codec.js';
import type { TunnelEnd } from '../../../common/tunnel-end.js';
import { H2StreamTunnelEnd, toExtendedConnect, upgradeResponseHead } from './h2-extended-connect.js';
import { watchEndStream, type EndStreamWatch } from './h2-end-stream.js';

/** What a stream needs from its connection (Http2Connection implements it; declared here, so no import cycle). */
export interface Http2StreamOwner {
  readonly session: ClientHttp2Session;
  readonly scheme: 'http' | 'https';
  readonly stats: ClusterStats;
  readonly codec: Http1Codec;
  /** A session error (not a peer's RST_STREAM) ended the connection. */
  readonly closedByError: boolean;
  /** The upstream's SETTINGS arrived (RFC 8441: whether it takes an extended CONNECT is known). */
  readonly settingsReceived: boolean;
  /** The stream with `id` lies above a GOAWAY's last-stream-id. */
  refused(id: number | undefined): boolean;
  /** PING keepalive: told of every frame this stream's events show arrived (node-h2-keepalive.ts). */
  readonly keepalive: { received(): void } | null;
  streamDone(stream: Http2Stream): void;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = constants;

export class Http2Stream implements UpstreamStream {
  readonly #conn: Http2StreamOwner;
  #req: ClientHttp2Stream | null = null;
  /** Whether the peer ended the stream with END_STREAM (set once its readable side ends). */
  #eos: EndStreamWatch | null = null;
  #handler: ExchangeHandler | null = null;
  #isHead = false;
  #gotHead = false;
  #trailers: string[] | undefined;
  /** Done: ended, failed or aborted; no callback follows. */
  #done = false;
  /** An upgrade sent as an extended CONNECT (RFC 8441): its protocol and the client's Sec-WebSocket-Key. */
  #connect: { protocol: string; key: string | null } | null = null;
  /** The extended CONNECT was answered with success: upgrade() hands the stream over. */
  #upgraded = false;

  constructor(conn: Http2StreamOwner) {
    this.#conn = conn;
  }

  get connection(): Http2StreamOwner {
    return this.#conn;
  }

  start(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void {
    // An upgrade on a connection whose SETTINGS have not come yet waits for them: whether the
    // upstream takes an extended CONNECT is decided by its SETTINGS_ENABLE_CONNECT_PROTOCOL.
    if (!this.#conn.settingsReceived && upgradeOf(head) !== null && !this.#conn.session.closed) {
      this.#handler = handler;
      const go = (): void => {
        this.#conn.session.off('close', go);
        this.#conn.session.off('remoteSettings', go);
        if (this.#done || this.#handler !== handler) return;
        if (this.#conn.session.closed || this.#conn.session.destroyed) {
          this.#end();
          handler.onUpstreamFailure('refused_stream', false);
          return;
        }
        this.#startNow(head, handler, opts);
      };
      this.#conn.session.once('remoteSettings', go);
      this.#conn.session.once('close', go);
      return;
    }
    this.#startNow(head, handler, opts);
  }

  #startNow(head: Uint8Array, handler: ExchangeHandler, opts: StreamStart): void {
    this.#handler = handler;
    this.#isHead = opts.isHead;
    const conn = this.#conn;
    let headers;
    const upgrade: H2Upgrade = { protocol: null, key: null };
    try {
      headers = h2RequestHeaders(head, conn.scheme, upgrade);
    } catch (e) {
      if (!(e instanceof H2HeadError)) throw e;
      this.#end();
      queueMicrotask(() => handler.onUpstreamFailure('protocol_error', false));
      return;
    }
    conn.stats.inc('upstream_cx_tx_bytes_total', head.length);
    // An upgrade (the router kept `upgrade` in the head; h2RequestHeaders drops it) goes as an
    // extended CONNECT, which the upstream must have allowed with SETTINGS_ENABLE_CONNECT_PROTOCOL
    // (RFC 8441 §3). Envoy's codec sends the CONNECT regardless and a conforming upstream without
    // the setting resets the malformed request: 503 UR before any head. The same outcome here,
    // without sending what the upstream said it cannot take: the stream fails remote_reset.
    if (upgrade.protocol !== null) {
      if (conn.session.remoteSettings.enableConnectProtocol !== true) {
        this.#end();
        queueMicrotask(() => handler.onUpstreamFailure('remote_reset', false));
        return;
      }
      toExtendedConnect(headers, upgrade.protocol);
      this.#connect = { protocol: upgrade.protocol, key: upgrade.key };
    }
    let req: ClientHttp2Stream;
    try {
      req = conn.session.request(headers, { endStream: this.#connect === null && !opts.hasBody });
    } catch {
      // The session closed or is going away between the pool's hand-out and this call.
      this.#end();
      queueMicrotask(() => handler.onUpstreamFailure('refused_stream', false));
      return;
    }
    this.#req = req;
    this.#eos = watchEndStream(req);
    req.on('response', (h: IncomingHttpHeaders, flags: number) => {
      conn.keepalive?.received();
      this.#onResponse(h, flags);
    });
    req.on('data', (chunk: Buffer) => {
      conn.keepalive?.received();
      const h = this.#handler;
      if (!h || this.#done) return;
      conn.stats.inc('upstream_cx_rx_bytes_total', chunk.length);
      if (!h.onResponseData(chunk)) req.pause();
    });
    req.on('trailers', (t: IncomingHttpHeaders) => {
      conn.keepalive?.received();
      this.#trailers = flatTrailers(t);
    });
    req.on('end', () => this.#onEnd());
    req.on('drain', () => {
      if (!this.#done) this.#handler?.onRequestDrain();
    });
    // Errors arrive again as 'close' with the stream's rstCode: one place decides.
    req.on('error', () => {});
    req.on('close', () => this.#onClose());
  }

  writeBody(chunk: Uint8Array): boolean {
    const req = this.#req;
    if (!req || this.#done || chunk.length === 0) return true;
    this.#conn.stats.inc('upstream_cx_tx_bytes_total', chunk.length);
    // Copied: the router may hand views of buffers that are reused once this returns.
    return req.write(Buffer.from(chunk));
  }

  endRequest(): void {
    const req = this.#req;
    if (!req || this.#done || req.writableEnded) return;
    req.end();
  }

  pauseResponse(): void {
    this.#req?.pause();
  }

  resumeResponse(): void {
    this.#req?.resume();
  }

  abort(): void {
    if (this.#done) return;
    this.#handler = null;
    const req = this.#req;
    this.#end();
    if (req && !req.closed && !req.destroyed) req.close(NGHTTP2_CANCEL);
  }

  /** @internal (Http2ConnPool.release) a stream handed out and never started goes back. */
  releaseUnstarted(): void {
    if (this.#req === null) this.#end();
  }

  /** The extended CONNECT's stream as the tunnel's upstream end, once answered with success; else null. */
  upgrade(): TunnelEnd | null {
    const req = this.#req;
    if (!this.#upgraded || req === null || this.#done) return null;
    this.#handler = null;
    const stats = this.#conn.stats;
    return new H2StreamTunnelEnd(req, (n, rx) => stats.inc(rx ? 'upstream_cx_rx_bytes_total' : 'upstream_cx_tx_bytes_total', n), () => this.#end());
  }

  #onResponse(headers: IncomingHttpHeaders, flags: number): void {
    const h = this.#handler;
    if (!h || this.#done) return;
    const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    const c = this.#connect;
    if (c !== null && !endStream) {
      const up = upgradeResponseHead(this.#conn.codec, headers, c.protocol, c.key);
      if (up !== null) {
        if ('error' in up) {
          this.#conn.stats.inc('upstream_cx_protocol_error');
          this.#fail('protocol_error');
          return;
        }
        this.#gotHead = true;
        this.#upgraded = true;
        h.onResponseHead(up);
        return;
      }
    }
    const r = h2ResponseHead(this.#conn.codec, headers, endStream, this.#isHead);
    if ('error' in r) {
      this.#conn.stats.inc('upstream_cx_protocol_error');
      this.#fail('protocol_error');
      return;
    }
    this.#gotHead = true;
    h.onResponseHead(r.head);
  }

  #onEnd(): void {
    const h = this.#handler;
    if (!h || this.#done) return;
    if (!this.#gotHead) return; // 'close' decides (a stream that ended without a response head)
    // A close (a reset of any code, the connection lost) also ends the readable side: without
    // END_STREAM the response is cut, not complete.
    if (!this.#completed()) {
      this.#onClose();
      return;
    }
    const trailers = this.#trailers;
    this.#end();
    h.onResponseEnd(trailers);
  }

  #onClose(): void {
    const h = this.#handler;
    if (!h || this.#done) return;
    const req = this.#req!;
    const code = req.rstCode;
    // 'end' may follow 'close' for a stream whose last frame was read: a complete response.
    if (this.#gotHead && req.readableEnded && this.#completed()) {
      this.#onEnd();
      return;
    }
    let failure: UpstreamFailure;
    if (this.#gotHead) failure = 'reset_mid_response';
    else if (code === NGHTTP2_REFUSED_STREAM || this.#conn.refused(req.id)) failure = 'refused_stream';
    else if (code !== undefined && code !== NGHTTP2_NO_ERROR && !this.#conn.closedByError && !this.#lostWithConnection(code)) failure = 'remote_reset';
    else failure = 'reset_before_head';
    if (failure === 'remote_reset' || (failure === 'reset_mid_response' && code !== NGHTTP2_NO_ERROR)) this.#conn.stats.incDynamic('upstream_rq_rx_reset');
    this.#end();
    h.onUpstreamFailure(failure, false);
  }

  /** node:http2 closed the stream with CANCEL because its session went away (the connection lost, not a peer's RST_STREAM). */
  #lostWithConnection(code: number): boolean {
    const session = this.#conn.session;
    return code === NGHTTP2_CANCEL && (session.destroyed || session.closed);
  }

  /** The peer's END_STREAM ended the response (not a close, which ends node's readable side too). */
  #completed(): boolean {
    const seen = this.#eos?.endStream ?? null;
    if (seen !== null) return seen;
    // Not observed (the watch is installed before any frame, so this is not expected): the
    // stream's reset code decides, as before the watch.
    const rst = this.#req?.rstCode;
    return rst === undefined || rst === NGHTTP2_NO_ERROR;
  }

  #fail(failure: UpstreamFailure): void {
    const h = this.#handler;
    const req = this.#req;
    this.#end();
    if (req && !req.closed && !req.destroyed) req.close(constants.NGHTTP2_PROTOCOL_ERROR);
    h?.onUpstreamFailure(failure, false);
  }

  /** The stream is over: its slot goes back to the connection (once). */
  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler = null;
    this.#conn.streamDone(this);
  }
}

/** The `upgrade` field of an HTTP/1.1 request head and its `sec-websocket-key`, or null without one (only before the upstream's SETTINGS came). */
function upgradeOf(head: Uint8Array): { protocol: string; key: string | null } | null {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  const u = /\r\nupgrade:[ \t]*([^\r]*)/i.exec(text);
  if (u === null || u[1]!.trim() === '') return null;
  const k = /\r\nsec-websocket-key:[ \t]*([^\r]*)/i.exec(text);
  return { protocol: u[1]!.trim(), key: k === null ? null : k[1]!.trim() };
}
