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

const q = JSON.stringify;

/** A span's attributes as OTLP key/value JSON, written straight to the string (no per-tag objects). */
function attributes(tags: Readonly<Record<string, string>>, peer: string | null): string {
  let out = '';
  let peerSeen = peer === null;
  for (const key in tags) {
    if (key === 'net.peer.address') peerSeen = true;
    out += `${out === '' ? '' : ','}{"key":${q(key)},"value":{"stringValue":${q(tags[key])}}}`;
  }
  if (!peerSeen) out += `${out === '' ? '' : ','}{"key":"net.peer.address","value":{"stringValue":${q(peer)}}}`;
  return out;
}

/** One span as OTLP JSON. */
function spanJson(s: FinishedSpan): string {
  const traceId = s.traceId.length === 32 ? s.traceId : '0000000000000000' + s.traceId;
  return `{"traceId":${q(traceId)},"spanId":${q(s.spanId)},` +
    (s.parentId !== null ? `"parentSpanId":${q(s.parentId)},` : '') +
    `"name":${q(s.name)},"kind":${KIND[s.kind]},` +
    `"startTimeUnixNano":"${nanos(s.startUs)}","endTimeUnixNano":"${nanos(s.startUs + Math.max(1, s.durationUs))}",` +
    `"attributes":[${attributes(s.tags, s.remote)}],"status":{"code":${s.tags['error'] === 'true' ? 2 : 0}}}`;
}

/**
 * A batch as the request body; spans grouped by their reporting service. Written as a string
 * (strings through JSON.stringify, for their escapes) rather than built as objects and stringified:
 * the objects cost ~6 µs a span (bench/exporter-cost.ts).
 */
export function otlpBody(spans: readonly FinishedSpan[]): string {
  const byService = new Map<string, FinishedSpan[]>();
  for (const s of spans) {
    const list = byService.get(s.localService);
    if (list) list.push(s);
    else byService.set(s.localService, [s]);
  }
  let out = '{"resourceSpans":[';
  let first = true;
  for (const [service, list] of byService) {
    out += `${first ? '' : ','}{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${q(service)}}}]},"scopeSpans":[{"scope":{"name":"wasmesh"},"spans":[`;
    first = false;
    for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + spanJson(list[i]!);
    out += ']}]}';
  }
  return out + ']}';
}
