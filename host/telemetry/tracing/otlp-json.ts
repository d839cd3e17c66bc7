// Spans as OTLP/HTTP JSON (ExportTraceServiceRequest, the body of `POST /v1/traces`): one
// resource (service.name = the proxy's tracing service name), ids in hex as the JSON mapping of
// OTLP requires, times in nanoseconds as decimal strings, kind as the enum's number
// (SPAN_KIND_SERVER 2, SPAN_KIND_CLIENT 3), status ERROR (2) for spans tagged error.
import type { FinishedSpan } from './span.js';

const KIND = { SERVER: 2, CLIENT: 3 } as const;

function nanos(us: number): string {
  // Microseconds since the epoch fit a double exactly; nanoseconds do not: write the digits.
  return `${Math.round(us)}000`;
}

function attributes(tags: Readonly<Record<string, string>>): Array<{ key: string; value: { stringValue: string } }> {
  return Object.entries(tags).map(([key, v]) => ({ key, value: { stringValue: v } }));
}

/** A batch as the request body; spans grouped by their reporting service. */
export function otlpBody(spans: readonly FinishedSpan[]): string {
  const byService = new Map<string, FinishedSpan[]>();
  for (const s of spans) {
    const list = byService.get(s.localService);
    if (list) list.push(s);
    else byService.set(s.localService, [s]);
  }
  const resourceSpans = [...byService].map(([service, list]) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{
      scope: { name: 'wasmesh' },
      spans: list.map((s) => {
        const tags: Record<string, string> = { ...s.tags };
        if (s.remote !== null) tags['net.peer.address'] ??= s.remote;
        const span: Record<string, unknown> = {
          traceId: s.traceId.length === 32 ? s.traceId : '0000000000000000' + s.traceId,
          spanId: s.spanId,
          name: s.name,
          kind: KIND[s.kind],
          startTimeUnixNano: nanos(s.startUs),
          endTimeUnixNano: nanos(s.startUs + Math.max(1, s.durationUs)),
          attributes: attributes(tags),
          status: s.tags['error'] === 'true' ? { code: 2 } : { code: 0 },
        };
        if (s.parentId !== null) span['parentSpanId'] = s.parentId;
        return span;
      }),
    }],
  }));
  return JSON.stringify({ resourceSpans });
}
