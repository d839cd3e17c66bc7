// gRPC-Web at the proxy, as Envoy's envoy.filters.http.grpc_web does (Istio puts it in its HTTP
// filter chains): a browser's gRPC-Web request (content-type application/grpc-web[+proto], or
// application/grpc-web-text[+proto], base64) goes upstream as gRPC — content-type
// application/grpc, `te: trailers`, the text body decoded — and the gRPC response comes back as
// gRPC-Web: content-type application/grpc-web+proto (application/grpc-web-text+proto, base64,
// when the client accepts text), the HTTP/2 trailers (grpc-status, grpc-message, metadata)
// written as the trailer frame at the end of the body. A listener filter: one object for every
// stream, which reads one header of each request; only a gRPC-Web stream gets a translator.
// CORS (a browser's preflight) is the route's corsPolicy, as in Istio: a preflight is no gRPC-Web request.
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import type { BodyTransform } from '../body-transform.js';
import { Base64StreamDecoder, Base64StreamEncoder, trailerFrame } from '../grpc-web-frames.js';
import { ResponseFlag } from '../response-flags.js';
import { startsWithLower } from '../../common/grpc-status.js';
import { trailerStrings, type Trailers } from '../../common/trailer-block.js';

const GRPC_WEB = 'application/grpc-web';
const GRPC_WEB_TEXT = 'application/grpc-web-text';
/** The response content-types Envoy writes. */
export const GRPC_WEB_PROTO = 'application/grpc-web+proto';
export const GRPC_WEB_TEXT_PROTO = 'application/grpc-web-text+proto';

const CONTENT_TYPE: readonly string[] = ['content-type'];
const EMPTY = new Uint8Array(0);

/** 0: not gRPC-Web; 1: binary; 2: text (base64). Envoy's four content-types, any case. */
export function grpcWebKind(contentType: string | null): 0 | 1 | 2 {
  // Every request of the listener passes here: nothing is allocated unless it is gRPC-Web.
  if (contentType === null || !startsWithLower(contentType, GRPC_WEB)) return 0;
  const ct = contentType.toLowerCase();
  if (ct === GRPC_WEB || ct === GRPC_WEB_PROTO) return 1;
  if (ct === GRPC_WEB_TEXT || ct === GRPC_WEB_TEXT_PROTO) return 2;
  return 0;
}

/** Whether the client asks for a text (base64) response: `accept` names the text content-type (Envoy's check). */
function acceptsText(accept: string | null): boolean {
  if (accept === null) return false;
  const a = accept.toLowerCase();
  return a === GRPC_WEB_TEXT || a === GRPC_WEB_TEXT_PROTO;
}

/** One gRPC-Web stream's translation of its bodies. */
class GrpcWebTranslation implements BodyTransform {
  readonly #stream: StreamCallbacks;
  readonly #decoder: Base64StreamDecoder | null;
  readonly #encoder: Base64StreamEncoder | null;
  readonly grpcReplyContentType: string;

  constructor(stream: StreamCallbacks, textRequest: boolean, textResponse: boolean) {
    this.#stream = stream;
    this.#decoder = textRequest ? new Base64StreamDecoder() : null;
    this.#encoder = textResponse ? new Base64StreamEncoder() : null;
    this.grpcReplyContentType = textResponse ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO;
  }

  request(chunk: Uint8Array, end: boolean): Uint8Array {
    if (this.#decoder === null) return chunk;
    const out = this.#decoder.decode(chunk, end);
    if (out !== null) return out;
    // Envoy answers 400 "Bad gRPC-web request" (grpc_base_64_decode_failed); mid-response, the stream is reset.
    const s = this.#stream;
    if (s.responseStarted) {
      s.setFlag(ResponseFlag.DownstreamProtocolError);
      s.resetStream();
    } else s.sendLocalReply('400 Bad Request', [], 'Bad gRPC-web request', ResponseFlag.DownstreamProtocolError);
    return EMPTY;
  }

  response(chunk: Uint8Array): Uint8Array {
    return this.#encoder === null ? chunk : this.#encoder.encode(chunk);
  }

  responseEnd(t: Trailers | undefined): { data: Uint8Array | null; trailers: undefined } {
    const trailers = trailerStrings(t);
    const frame = trailers !== undefined && trailers.length > 0 ? trailerFrame(trailers) : null;
    // The trailers travel in the body only: a downstream that carries HTTP trailers gets none.
    if (this.#encoder === null) return { data: frame, trailers: undefined };
    // Text: what is left of the messages, padded, then the trailer frame encoded on its own (as Envoy).
    const rest = this.#encoder.flush();
    if (frame === null) return { data: rest, trailers: undefined };
    const encoded = Buffer.from(Buffer.from(frame).toString('base64'), 'latin1');
    return { data: rest.length === 0 ? encoded : Buffer.concat([rest, encoded]), trailers: undefined };
  }
}

export const grpcWebFilter: HttpFilter = {
  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    const kind = grpcWebKind(stream.requestHeader('content-type'));
    if (kind === 0) return FilterStatus.Continue;
    const textResponse = acceptsText(stream.requestHeader('accept'));
    // From here the request is gRPC: its local replies are gRPC-Web trailers-only responses, its
    // telemetry request_protocol="grpc".
    stream.grpc = true;
    stream.setRequestHeader('content-type', 'application/grpc');
    // gRPC over HTTP/2 requires it (a gRPC server may refuse a request without it).
    stream.setRequestHeader('te', 'trailers');
    stream.takeResponseHeaders?.(CONTENT_TYPE);
    stream.addResponseHeader('content-type', textResponse ? GRPC_WEB_TEXT_PROTO : GRPC_WEB_PROTO);
    // A decoded text body is shorter than the one received: its length is no longer known.
    stream.transformBody?.(new GrpcWebTranslation(stream, kind === 2, textResponse), kind === 2);
    return FilterStatus.Continue;
  },
};
