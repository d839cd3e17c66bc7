// Distributed tracing as a listener-level filter (Envoy's connection manager tracing): when the
// version traces, every stream gets its StreamTrace — the context its propagation headers carry
// (B3 or W3C), or a new trace — and the sampling decision; the propagation headers as received
// are removed, since the router writes each upstream attempt's own (stream-trace.ts). The stream
// span is reported when the stream ends. Malformed propagation headers: no trace, headers
// forwarded as received (Envoy's NullSpan). Absent from the chain when the mesh has no tracing.
import type { HttpFilter } from '../filter.js';
import { FilterStatus } from '../filter.js';
import type { StreamCallbacks } from '../stream-callbacks.js';
import { formatFlags } from '../response-flags.js';
import { PROPAGATION_HEADERS, type Tracer } from '../../telemetry/tracing/tracer.js';

/** The tracing filter of one config version. */
export function tracingFilter(tracer: Tracer): HttpFilter {
  return {
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const ds = stream.downstream;
      const get = (name: string): string | null => stream.requestHeader(name);
      const trace = tracer.start(get, {
        method: ds.method,
        authority: ds.authority,
        path: ds.path,
        scheme: stream.requestHeader('x-forwarded-proto') ?? 'http',
        requestId: stream.requestId,
        peerAddress: ds.remoteAddress,
        userAgent: stream.requestHeader('user-agent'),
        downstreamCluster: stream.requestHeader('x-envoy-downstream-service-cluster'),
      }, ds.startTime);
      if (trace === null) return FilterStatus.Continue;
      // The upstream heads carry the proxy's context instead (router: attemptHeaders).
      for (const h of PROPAGATION_HEADERS) if (stream.requestHeader(h) !== null) stream.removeRequestHeader(h);
      stream.trace = trace;
      return FilterStatus.Continue;
    },
    onLog(stream: StreamCallbacks): void {
      const trace = stream.trace;
      if (!trace) return;
      const ds = stream.downstream;
      trace.finish({
        code: ds.status,
        flags: formatFlags(stream.flags),
        upstreamCluster: stream.upstreamCluster,
        requestBytes: ds.bytesReceived,
        responseBytes: ds.bytesSent,
      });
    },
  };
}
