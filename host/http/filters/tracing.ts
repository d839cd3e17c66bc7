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
import type { StreamEnd } from '../../telemetry/tracing/stream-trace.js';
import { PropagationFields } from '../../telemetry/tracing/propagation-fields.js';
import { propagationSlot, type PropagationBytes } from '../../common/propagation-bytes.js';
import type { StreamTrace } from '../../telemetry/tracing/stream-trace.js';

/** How an unsampled stream ends: its span is not built, so nothing of the end is read. */
const UNSAMPLED_END: StreamEnd = Object.freeze({ code: 0, flags: '-', upstreamCluster: '', requestBytes: 0, responseBytes: 0 });

/**
 * The tracing filter of one config version. Every request pays for its context (it propagates
 * sampled or not); what only a reported span needs (the request's fields, the end's flags) is
 * read only for a sampled stream, so the 99 % Istio does not sample allocate nothing more.
 */
export function tracingFilter(tracer: Tracer): HttpFilter {
  // One reader for the filter, pointed at the request being started: filters run one at a time
  // on the proxy's thread, and the tracer reads the fields only inside start().
  const fields = new PropagationFields();
  // The byte path's reader of any other field (x-client-trace-id, a custom tag's header), the
  // propagation ones from their bytes: pointed at the request being started, as `fields`.
  let bytes: PropagationBytes | null = null;
  let current: StreamCallbacks | null = null;
  const other = (name: string): string | null => {
    const slot = propagationSlot(name);
    return slot >= 0 ? bytes!.string(slot) : current!.requestHeader(name);
  };
  /** The trace from the listener's hand-over of the fields as bytes; a request it does not trace gets them back as received. */
  const startFromBytes = (stream: StreamCallbacks, p: PropagationBytes): StreamTrace | null => {
    bytes = p;
    current = stream;
    let trace;
    try {
      trace = tracer.startFromBytes(p, other, null, stream.downstream.startTime);
    } finally {
      bytes = current = null;
    }
    // Malformed (Envoy's NullSpan): forwarded as received, after the other fields.
    if (trace === null && p.count > 0) p.restore((name, value) => stream.addRequestHeader(name, value));
    return trace;
  };
  return {
    readsPropagation: true,
    onRequestHeaders(stream: StreamCallbacks): FilterStatus {
      const ds = stream.downstream;
      const p = ds.propagation;
      let trace;
      if (p !== undefined && p !== null) trace = startFromBytes(stream, p);
      else {
        // The stream edits the downstream's field array in place: it is the request's fields now.
        fields.read(ds.headers);
        try {
          trace = tracer.start(fields.get, null, ds.startTime);
        } finally {
          fields.clear();
        }
      }
      if (trace === null) return FilterStatus.Continue;
      if (trace.reports) {
        trace.describe({
          method: ds.method,
          authority: ds.authority,
          path: ds.path,
          scheme: stream.requestHeader('x-forwarded-proto') ?? 'http',
          requestId: stream.requestId,
          peerAddress: ds.remoteAddress,
          userAgent: stream.requestHeader('user-agent'),
          downstreamCluster: stream.requestHeader('x-envoy-downstream-service-cluster'),
        });
      }
      // The upstream heads carry the proxy's context instead (the core's head writer appends
      // StreamTrace.writeTail's lines): the fields as received go, in one pass, when there are any
      // (a client that sends no context: nothing to remove).
      // Handed over as bytes: not among them.
      if (p == null && fields.present > 0) stream.removeRequestHeaders(PROPAGATION_HEADERS);
      stream.trace = trace;
      return FilterStatus.Continue;
    },
    onLog(stream: StreamCallbacks): void {
      const trace = stream.trace;
      if (!trace) return;
      if (!trace.reports) {
        trace.finish(UNSAMPLED_END);
        // Nothing else holds it (the router reads stream.trace): the tracer reuses it.
        stream.trace = null;
        tracer.release(trace);
        return;
      }
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
