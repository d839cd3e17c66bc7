// The request fields a proxy adds before routing, as Envoy's connection manager does with
// Istio's settings: the client address appended to x-forwarded-for (use_remote_address),
// x-forwarded-proto set to `https` on a TLS connection, `http` otherwise, when absent (kept when present: a gateway in front may have
// terminated TLS), and an x-request-id generated when the client sent none. Routing sees the
// request as forwarded, so a rule on these fields matches what the upstream receives.
import { FilterStatus, type HttpFilter } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { randomRequestId } from './request-id.js';

export const forwardedHeaders: HttpFilter = {
  onRequestHeaders(stream: StreamCallbacks): FilterStatus {
    const client = stream.downstream.remoteAddress;
    const xff = stream.requestHeader('x-forwarded-for');
    // Only the first x-forwarded-for field is extended; later ones pass as received.
    stream.forwardedFor = xff === null ? client : `${xff}, ${client}`;
    stream.setRequestHeader('x-forwarded-for', stream.forwardedFor);
    if (stream.requestHeader('x-forwarded-proto') === null) stream.setRequestHeader('x-forwarded-proto', stream.downstream.security?.tls === true ? 'https' : 'http');
    const id = stream.requestHeader('x-request-id');
    if (id === null) stream.setRequestHeader('x-request-id', (stream.requestId = randomRequestId()));
    else stream.requestId = id;
    return FilterStatus.Continue;
  },
};
