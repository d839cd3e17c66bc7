// The HTTP filter seam, Envoy's shape in TypeScript: a filter's configuration is turned into an
// HttpFilterFactory once per config version and route; the factory makes one HttpFilter per
// stream (or hands out one shared object when the filter keeps no per-stream state), and the
// filter manager calls it at each phase of the stream. The same phases as the proxy-wasm
// HttpContext in filters/abi/, so native and Envoy filters mirror each other.
import type { StreamCallbacks } from './stream-callbacks.js';

/** What a filter tells the filter manager after a callback. */
export const enum FilterStatus {
  /** Go on to the next filter. */
  Continue = 0,
  /**
   * Stop here: the filter will call `stream.continueDecoding()` later (a delay), or it answered
   * the request with `stream.sendLocalReply()` (then nothing after it runs).
   */
  StopIteration = 1,
}

/**
 * One filter on one stream. Every callback is optional: the manager skips what a filter does not
 * define, so a filter pays only for the phases it takes part in.
 */
export interface HttpFilter {
  /**
   * A listener filter that reads the request's trace context fields from the listener's bytes
   * (Downstream.propagation) and writes or restores them (tracing.ts): with one in a version,
   * the HTTP/1 listener hands them over so, out of the request's fields.
   */
  readonly readsPropagation?: boolean;
  /** The request head is complete (forwarded headers applied, route chosen for route filters). */
  onRequestHeaders?(stream: StreamCallbacks): FilterStatus;
  /**
   * A piece of request body (`end` marks the last; the chunk is the stream's own copy). Body
   * filters observe the body, or answer with sendLocalReply; they do not hold it back.
   */
  onRequestBody?(stream: StreamCallbacks, chunk: Uint8Array, end: boolean): void;
  /** The response head is about to be written downstream (status `code`); filters run last to first. */
  onResponseHeaders?(stream: StreamCallbacks, code: number): void;
  /**
   * The downstream drained what was buffered: a filter that produces the response (the terminal
   * one) may resume its source.
   */
  onResponseWritable?(stream: StreamCallbacks): void;
  /** The stream is over (answered, aborted or reset): record it. Runs for every filter that was created. */
  onLog?(stream: StreamCallbacks): void;
  /** The stream is over: drop timers and anything held (runs before onLog). */
  onDestroy?(stream: StreamCallbacks): void;
}

/** Makes a route's filter for each stream; built once per config version. */
export interface HttpFilterFactory {
  /**
   * The filter for a new stream. A filter without per-stream state returns one shared object, and
   * declares it in `shared` so that a chain of such filters is one precomputed array.
   */
  create(): HttpFilter;
  /** The object create() always returns, when the filter keeps no per-stream state; else null. */
  readonly shared: HttpFilter | null;
}

/** A factory for filters that keep no per-stream state: create() returns the filter itself. */
export function sharedFactory(filter: HttpFilter): HttpFilterFactory {
  return { shared: filter, create: () => filter };
}
