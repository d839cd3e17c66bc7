// A per-stream rewrite of the bodies a filter translates (Envoy's decodeData / encodeData /
// encodeTrailers of a filter that changes the bytes, such as grpc_web): installed by a filter on
// its stream (StreamCallbacks.transformBody), it sees each request chunk before the route's
// filters and the router, each response chunk before the downstream, and the response's end
// with its trailers. A stream without one pays a null check per chunk.
import type { Trailers } from '../common/trailer-block.js';

export interface BodyTransform {
  /** A request body chunk on its way upstream → the bytes to send instead (may be empty). */
  request(chunk: Uint8Array, end: boolean): Uint8Array;
  /** A response body chunk on its way downstream → the bytes to send instead (may be empty). */
  response(chunk: Uint8Array): Uint8Array;
  /**
   * The response's end, with the upstream's trailers (flat name/value pairs) or none: bytes to
   * write before the end (null: none) and the trailers the downstream still gets.
   */
  responseEnd(trailers: Trailers | undefined): { readonly data: Uint8Array | null; readonly trailers: Trailers | undefined };
  /** The content-type of a gRPC local reply to the stream (the translated protocol's own). */
  readonly grpcReplyContentType: string;
}
