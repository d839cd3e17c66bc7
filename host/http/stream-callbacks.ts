// What a filter may see and do on its stream (Envoy's StreamDecoderFilterCallbacks and
// StreamInfo in one): the request as received and as forwarded, the chosen route, local replies,
// resuming after a pause, response headers to add, and the record the access log reads. The
// HTTP stream implements it; unit tests of a filter can implement it with a plain object.
import type { Downstream, HeadSource } from '../listener/downstream.js';
import type { BodyMode } from '../listener/downstream.js';
import type { RequestView } from '../core/request-view.js';
import type { RouteTable } from '../core/route/route-table.js';
import type { StatScope, ROUTE_STATS } from '../telemetry/stats.js';
import type { ClusterRuntimeParts } from '../upstream/cluster-manager.js';
import type { ResponseFlag } from './response-flags.js';
import type { RequestAuth } from '../model/request-auth.js';
import type { StreamTrace } from '../telemetry/tracing/stream-trace.js';
import type { WorkloadLabels } from '../telemetry/istio-labels.js';
import type { BodyTransform } from './body-transform.js';
import type { Trailers } from '../common/trailer-block.js';

// What filters read of their config version and route, declared here rather than taken from
// route-config.ts: RouteConfig holds the filters (HttpFilter, filter.ts), and filter.ts takes
// StreamCallbacks, so importing route-config.ts here closed an import cycle.

/** What a filter reads of the config version its stream runs on (RouteConfig implements it). */
export interface StreamConfig {
  readonly version: number;
  readonly table: RouteTable;
  readonly clusters: readonly ClusterRuntimeParts[];
}

/** What a filter reads of the route chosen for its stream (RouteEntry extends it). */
export interface StreamRoute {
  readonly name: string;
  /** The route's index in the table (flattened over virtual hosts, as the core numbers routes). */
  readonly index: number;
  readonly stats: StatScope<keyof typeof ROUTE_STATS>;
}

/** The request body as bufferRequestBody gives it. */
export interface BufferedBody {
  readonly bytes: Uint8Array;
  /** Not the whole body: cut at maxBytes, or sent before it ended (Envoy's x-envoy-auth-partial-body: true). */
  readonly partial: boolean;
}

export interface StreamCallbacks {
  /** The downstream request: method, path, authority and client address as received. */
  readonly downstream: Downstream;
  /** The config version the stream runs on (kept alive until the stream ends). */
  readonly config: StreamConfig;
  /** The route chosen for the request; null before routing and when none matched. */
  readonly route: StreamRoute | null;
  /** The request has a body (content-length above 0, or chunked). */
  readonly hasBody: boolean;
  /** The request body is framed chunked. */
  readonly chunked: boolean;
  /** The body length when it is framed by Content-Length (above 0); 0 otherwise. */
  readonly contentLength: number;

  /** The first value of request header `name` (lower-case) as forwarded, or null. */
  requestHeader(name: string): string | null;
  /** Replaces the first `name` header's value, or appends the header when absent. */
  setRequestHeader(name: string, value: string): void;
  /** Appends a `name` field after the others, whether or not one is there (a repeated field as received). */
  addRequestHeader(name: string, value: string): void;
  /** Removes every `name` header (lower-case) from the request as forwarded. */
  removeRequestHeader(name: string): void;
  /** Removes every field with any of `names` (lower case), in one pass over the request's fields. */
  removeRequestHeaders(names: readonly string[]): void;
  /**
   * removeRequestHeaders(names), and the first value of each `names[k]` into `values[k]` (null
   * when absent) from the same pass: a filter that reads fields and removes them (Istio's peer
   * metadata) scans the request's fields once. Returns how many fields were removed.
   */
  takeRequestHeaders(names: readonly string[], values: Array<string | null>): number;
  /**
   * The core's request view filled with this request as forwarded: every later reader of the
   * view (route match, head writer) sees this stream's request. Null when it does not fit (431).
   */
  requestView(): RequestView | null;
  /**
   * For a listener filter that holds the head (StopIteration): the request body as Envoy's
   * ext_authz with_request_body buffers it. `done` gets the first `maxBytes` bytes (a copy: the
   * body still goes upstream) once the body ended or, with `allowPartial`, once `maxBytes` are
   * in (`partial`: the check has not the whole body); without `allowPartial` a body above `maxBytes` is
   * 'too_large'. A request without body answers at once. Returns a cancel function.
   */
  bufferRequestBody?(maxBytes: number, allowPartial: boolean, done: (result: BufferedBody | 'too_large') => void): () => void;

  /**
   * Takes fields out of the upstream response head (names lower-case): they are not written
   * downstream, and their values are kept for takenResponseHeader (Istio's peer metadata, which
   * the app must never see). Only the first `read` names' values are kept (default: all); the
   * fields of the others are taken out unread (Istio's peer metadata id): not decoded, and
   * takenResponseHeader gives null for them. At most 31 fields in all. Optional: a filter's unit
   * test may leave it out.
   */
  takeResponseHeaders?(names: readonly string[], read?: number): void;
  /**
   * The value of a field taken from the upstream response head, or null when it had none; read
   * it up to the stream's onLog (after that the values are gone: their array serves another stream).
   */
  takenResponseHeader?(name: string): string | null;

  /**
   * Installs a rewrite of this stream's bodies (a filter translating a protocol: grpc-web). With
   * `requestLengthChanges`, the request body's length is no longer known: its content-length
   * goes and it is forwarded as a body of unknown length. Optional: a filter's unit test may leave it out.
   */
  transformBody?(transform: BodyTransform, requestLengthChanges: boolean): void;

  /** Answers the request from the proxy; nothing after the calling filter runs. */
  sendLocalReply(status: string, headers: ReadonlyArray<readonly [string, string]>, body: string, flag?: ResponseFlag): void;
  /** Resumes the request after a filter returned StopIteration. */
  continueDecoding(): void;
  /** A header for the response, written after the upstream's (or the local reply's) own. */
  addResponseHeader(name: string, value: string): void;
  /**
   * Headers for the response (name, value, name, value, …) from an array the caller keeps and
   * never changes: the same on every response (a filter's fixed headers, Istio's peer metadata),
   * so the stream holds the array itself rather than a copy. A value may be its latin1 bytes,
   * encoded once by the caller and written into each head as they are (Istio's ~360-character
   * peer metadata: one copy of the bytes per response instead of a string write).
   */
  addResponseHeaders(pairs: readonly (string | Uint8Array)[]): void;

  /** The response head: written downstream after the filters' onResponseHeaders (terminal filters). */
  encodeHeaders(code: number, source: HeadSource, mode: BodyMode, length: number): void;
  /** A response body chunk (may be a view into reused memory); false under backpressure. */
  encodeData(chunk: Uint8Array): boolean;
  /** Ends the response; `trailers` (flat name/value pairs, or bytes) go out where the downstream protocol carries them. */
  encodeEnd(trailers?: Trailers): void;
  /** Closes the downstream connection mid-response (the client must not take a partial body for whole). */
  resetStream(): void;
  /** The response head went downstream already. */
  readonly responseStarted: boolean;
  /**
   * The response went downstream whole. False when a stream ends otherwise (the client went
   * away, the server shut down, the stream was reset): what still runs upstream is cancelled.
   */
  readonly completed: boolean;
  /** Stops reading the request body (the upstream is not taking more) and resumes it. */
  pauseRequestBody(): void;
  resumeRequestBody(): void;

  // ── Stream info: what the access log and stats read ──────────────────────────────────
  /** Adds an Envoy response flag (UF, URX, DI …). */
  setFlag(flag: ResponseFlag): void;
  /** The flags set so far. */
  readonly flags: readonly string[];
  /** x-request-id as forwarded (the client's, or one generated). */
  requestId: string;
  /** x-forwarded-for as forwarded (the client address appended). */
  forwardedFor: string | undefined;
  /** The endpoint (`address:port`) and cluster of the last attempt, or '-'. */
  upstreamHost: string;
  upstreamCluster: string;
  /** Milliseconds from the request's start to the upstream response head; -1 when none. */
  upstreamServiceTimeMs: number;
  /** Upstream attempts made. */
  attempts: number;
  /**
   * The request is gRPC: its content-type as received is application/grpc (Envoy's
   * isGrpcRequestHeaders), or the grpc-web filter made it so. Local replies to it are gRPC
   * trailers-only responses; Istio labels it request_protocol="grpc".
   */
  grpc: boolean;
  /**
   * The response's grpc-status: from its trailers, from its head (a trailers-only response), or
   * the one a gRPC local reply carried; -1 when none was seen.
   */
  grpcStatus: number;
  /** gRPC requests: messages in the request body (as received, after a grpc-web translation); 0 otherwise. */
  readonly grpcRequestMessages: number;
  /** gRPC requests: messages in the response body (as the upstream framed them); 0 otherwise. */
  readonly grpcResponseMessages: number;
  /** The verified JWT's attributes (RequestAuthentication), set by the JWT filter; null without a token. */
  requestAuth: RequestAuth | null;
  /**
   * The stream's trace (set by the tracing filter when the version traces; the router opens a
   * child span per upstream attempt on it and writes its context into each attempt's head).
   * Absent or null: not traced.
   */
  trace?: StreamTrace | null;
  /**
   * The downstream peer's workload as its `x-envoy-peer-metadata` told it (set by the Istio stats
   * filter on an inbound listener; Envoy's filter state `downstream_peer`); null: unknown.
   * Optional: a filter's unit test may leave it out.
   */
  downstreamPeer?: WorkloadLabels | null;
}
