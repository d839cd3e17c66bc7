// The seam between the authorization filter and an external authorizer (AuthorizationPolicy
// action CUSTOM, Envoy's ext_authz protocol over HTTP or gRPC to a meshConfig extension
// provider): the filter asks, the checker answers once. Implementations live beside the
// upstream side they talk over; the filter never learns the protocol.
import type { StreamCallbacks } from './stream-callbacks.js';

/** The authorizer's answer, or the provider's failure policy applied when it could not answer. */
export interface ExtAuthzVerdict {
  readonly allowed: boolean;
  /** Denied: the status to answer with (the authorizer's, or statusOnError when it failed). */
  readonly status: number;
  /** Allowed: headers the authorizer asks to set on the request going upstream. */
  readonly headersToUpstream: ReadonlyArray<readonly [string, string]>;
  /** Denied: headers and body for the downstream reply. */
  readonly headersToDownstream: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
  /** The authorizer could not be reached or answered garbage (Envoy's UAEX vs an error). */
  readonly error: boolean;
}

export interface ExtAuthzCheck {
  /** Provider name (meshConfig extensionProviders[].name). */
  readonly provider: string;
  /**
   * Checks the stream's request; calls `done` exactly once, never synchronously throwing.
   * `cancel` (returned) drops the pending check when the stream ends first.
   */
  check(stream: StreamCallbacks, done: (verdict: ExtAuthzVerdict) => void): () => void;
}
