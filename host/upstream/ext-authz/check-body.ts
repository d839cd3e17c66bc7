// The request body in an ext_authz check (meshConfig includeRequestBodyInCheck, Envoy's
// with_request_body): the checker waits for the body the stream buffers (the first
// maxRequestBytes; a larger one is 413 Payload Too Large unless allowPartialMessage, as Envoy's
// buffer limit answers), then sends the check with it. A request without body, or a provider
// without includeRequestBodyInCheck, is checked at once without one.
import type { ExtAuthzVerdict } from '../../http/ext-authz-check.js';
import type { BufferedBody, StreamCallbacks } from '../../http/stream-callbacks.js';
import type { ExtAuthzProvider } from '../../model/mesh-settings.js';
import { denied } from './verdicts.js';

/** Envoy's answer when a body outgrows the buffer a filter needs (HCM local reply). */
export const PAYLOAD_TOO_LARGE: ExtAuthzVerdict = denied(413, [], 'Payload Too Large');

/** Envoy's check request header saying whether the body was cut at max_request_bytes. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

/**
 * Calls `send` with the body to check (null: none) when it is there; `done` gets 413 instead
 * when the body is too large. Returns the cancel function of whichever step is pending.
 */
export function withCheckBody(stream: StreamCallbacks, p: ExtAuthzProvider, done: (v: ExtAuthzVerdict) => void, send: (body: BufferedBody | null) => () => void): () => void {
  if (p.maxRequestBytes === null || !stream.hasBody || stream.bufferRequestBody === undefined) return send(null);
  let cancelled = false;
  let cancelSend: (() => void) | null = null;
  const cancelWait = stream.bufferRequestBody(p.maxRequestBytes, p.allowPartialMessage === true, (body) => {
    if (cancelled) return;
    if (body === 'too_large') done(PAYLOAD_TOO_LARGE);
    else cancelSend = send(body);
  });
  return () => {
    cancelled = true;
    cancelWait();
    cancelSend?.();
  };
}
