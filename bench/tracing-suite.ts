// Distributed tracing's per-request work on the proxy's thread (host/http/filters/tracing.ts,
// host/telemetry/tracing/): every request pays for its context, sampled or not (Istio samples
// 1 %; the other 99 % still propagate B3 and W3C headers upstream), so the common case is the
// unsampled one. One request is the whole path the proxy runs for it: the tracing filter's
// onRequestHeaders (extraction, sampling decision, the stream's trace, the removal of the
// headers as received), the propagation lines appended to the upstream head as the core's head
// writer appends them (StreamTrace.writeTail into the output region, then the head's one copy
// out of it), the attempt's start and end, and onLog. Beside it: the head's copy alone (what a
// request pays without tracing for the same step), and a sampled request (its two spans built
// and handed to the exporter, which here only counts them: posting is the exporter's batch work).
import { Tracer } from '../host/telemetry/tracing/tracer.js';
import { SpanIds } from '../host/telemetry/tracing/span-ids.js';
import { tracingFilter } from '../host/http/filters/tracing.js';
import { workloadMetadata } from '../host/model/workload-metadata.js';
import type { TracingConfig } from '../host/model/tracing.js';
import type { StreamCallbacks } from '../host/http/stream-callbacks.js';
import type { HttpFilter } from '../host/http/filter.js';
import type { StreamTrace } from '../host/telemetry/tracing/stream-trace.js';
import { sink, type BenchCase, type BenchSuite } from './runner.js';
import { PropagationBytes, propagationSlot } from '../host/common/propagation-bytes.js';

/** A request as wrk sends it through the benchmark gateway (no trace context: the proxy starts the trace). */
const HEADERS = ['host', 'bench.example', 'user-agent', 'wrk', 'accept', '*/*', 'x-forwarded-proto', 'http', 'x-request-id', '0a1b2c3d-4e5f-6789-abcd-ef0123456789'];
/** The upstream head the core writes for it (before the propagation lines). */
const HEAD = Buffer.from(
  'GET / HTTP/1.1\r\nhost: bench.example\r\nuser-agent: wrk\r\naccept: */*\r\nx-forwarded-proto: http\r\n' +
  'x-request-id: 0a1b2c3d-4e5f-6789-abcd-ef0123456789\r\nx-envoy-attempt-count: 1\r\n' +
  'x-envoy-peer-metadata-id: router~10.0.0.1~bench-gateway.default~default.svc.cluster.local\r\n\r\n', 'latin1');

/**
 * The filter's start of a stream, then what follows it for every traced request: the lines into
 * the core's output after the head (`region`, the head's `headLength` bytes at its start) and the
 * head's copy, the attempt, onLog. Returns the head's length.
 */
function traceOne(filter: HttpFilter, stream: StreamCallbacks, region: Uint8Array, headLength: number, cluster: string, endpoint: string): number {
  stream.trace = null;
  filter.onRequestHeaders!(stream);
  const trace = stream.trace!;
  const at = trace.writeTail(region, headLength - 2);
  region[at] = 0x0d;
  region[at + 1] = 0x0a;
  const head = region.slice(0, at + 2);
  trace.attemptStart(cluster, endpoint);
  trace.attemptEnd(200, '-');
  filter.onLog!(stream);
  return head.length;
}

/** One traced request's path through a tracer at `percent` sampling; returns the run and the spans reported so far. */
export function tracedRequest(percent: number): { run: () => number; reported: () => number } {
  let reported = 0;
  const config: TracingConfig = {
    provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port: 9411, path: '/api/v2/spans', maxTagLength: 256 },
    samplingPercentage: percent, customTags: [], disableSpanReporting: false,
  };
  const tracer = new Tracer({ config, workload: workloadMetadata({}), ids: new SpanIds(1), report: () => { reported++; }, stats: { inc: () => {} }, kind: 'SERVER' });
  const filter = tracingFilter(tracer);
  const downstream = { startTime: 0, method: 'GET', authority: 'bench.example', path: '/', remoteAddress: '127.0.0.1', status: 200, bytesReceived: 0, bytesSent: 1024, headers: HEADERS };
  const stream = {
    downstream, requestId: HEADERS[9], flags: [], upstreamCluster: 'outbound|80||bench', trace: null as StreamTrace | null,
    requestHeader(name: string): string | null {
      for (let i = 0; i < HEADERS.length; i += 2) if (HEADERS[i] === name) return HEADERS[i + 1]!;
      return null;
    },
    removeRequestHeader(): void {},
  } as unknown as StreamCallbacks;
  // The core's output region: the head as written, room after it for the lines.
  const region = new Uint8Array(4096);
  region.set(HEAD);
  const run = (): number => traceOne(filter, stream, region, HEAD.length, 'outbound|80||bench', '10.0.0.8:8080');
  return { run, reported: () => reported };
}

/** A mesh peer's request as the app's sidecar reads it: the client side's proxy's context (B3 multi, 128-bit, and traceparent) among its fields. */
const PEER_HEAD = Buffer.from(
  'host: reviews:9080\r\nuser-agent: Go-http-client/1.1\r\nx-forwarded-proto: http\r\nx-request-id: 0a1b2c3d-4e5f-6789-abcd-ef0123456789\r\n' +
  'x-envoy-attempt-count: 1\r\nx-b3-traceid: 463ac35c9f6413ad48485a3953bb6124\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-parentspanid: 0020000000000001\r\n' +
  'x-b3-sampled: 0\r\ntraceparent: 00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-00\r\n', 'latin1');
/** [nameStart, nameEnd, valueStart, valueEnd] per field line of PEER_HEAD, as the core's parser gives them. */
const PEER_SPANS: number[] = [];
for (let at = 0; at < PEER_HEAD.length;) {
  const colon = PEER_HEAD.indexOf(':', at);
  const eol = PEER_HEAD.indexOf('\r\n', colon);
  PEER_SPANS.push(at, colon, colon + 2, eol);
  at = eol + 2;
}

/**
 * The app's sidecar's side of a traced request from a mesh peer, not sampled: the listener's
 * part for the context fields (their values decoded into strings among the request's fields, or
 * handed over as bytes), then the filter (context continued, the fields as received removed
 * from the request when they are among its fields), the lines, the attempt and onLog.
 * `bytes`: the hand-over (a version that traces, on HTTP/1); else the strings (HTTP/2).
 */
export function peerRequest(bytes: boolean): { run: () => number } {
  const config: TracingConfig = {
    provider: { name: 'zipkin', kind: 'zipkin', service: '127.0.0.1', port: 9411, path: '/api/v2/spans', maxTagLength: 256 },
    samplingPercentage: 1, customTags: [], disableSpanReporting: false,
  };
  const tracer = new Tracer({ config, workload: workloadMetadata({}), ids: new SpanIds(1), report: () => {}, stats: { inc: () => {} }, kind: 'SERVER' });
  const filter = tracingFilter(tracer);
  const p = new PropagationBytes();
  const fields: string[] = [];
  const downstream = { startTime: 0, method: 'GET', authority: 'reviews:9080', path: '/', remoteAddress: '127.0.0.1', status: 200, bytesReceived: 0, bytesSent: 1024, headers: fields, propagation: null as PropagationBytes | null };
  const stream = {
    downstream, requestId: 'rid', flags: [], upstreamCluster: 'inbound|9080||', trace: null as StreamTrace | null,
    requestHeader(name: string): string | null {
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
      return null;
    },
    // The stream's one compacting pass (http-stream.ts #remove).
    removeRequestHeaders(names: readonly string[]): void {
      let w = 0;
      for (let i = 0; i < fields.length; i += 2) {
        if (names.includes(fields[i]!)) continue;
        fields[w++] = fields[i]!;
        fields[w++] = fields[i + 1]!;
      }
      fields.length = w;
    },
  } as unknown as StreamCallbacks;
  const names = PEER_SPANS.filter((_, k) => k % 4 === 0).map((at, k) => PEER_HEAD.toString('latin1', at, PEER_SPANS[k * 4 + 1]));
  const slots = names.map(propagationSlot);
  const region = new Uint8Array(4096);
  region.set(HEAD);
  const run = (): number => {
    // The listener: the field list (names are kept strings; every other value decoded as it is today).
    fields.length = 0;
    p.reset();
    downstream.propagation = bytes ? p : null;
    for (let k = 0, j = 0; k < names.length; k++, j += 4) {
      if (bytes && slots[k]! >= 0) p.put(slots[k]!, PEER_HEAD, PEER_SPANS[j + 2]!, PEER_SPANS[j + 3]!);
      else fields.push(names[k]!, PEER_HEAD.toString('latin1', PEER_SPANS[j + 2], PEER_SPANS[j + 3]));
    }
    return traceOne(filter, stream, region, HEAD.length, 'inbound|9080||', '127.0.0.1:9080') + fields.length;
  };
  return { run };
}

export function tracingSuite(): BenchSuite {
  const unsampled = tracedRequest(0);
  const sampled = tracedRequest(100);
  const region = new Uint8Array(4096);
  region.set(HEAD);
  const peerStrings = peerRequest(false);
  const peerBytes = peerRequest(true);
  const peer: BenchCase[] = [
    { name: 'a mesh peer\'s context continued, not sampled: fields as strings (decoded, found, removed)', fn: () => { sink.value += peerStrings.run(); } },
    { name: 'a mesh peer\'s context continued, not sampled: fields handed over as bytes', fn: () => { sink.value += peerBytes.run(); } },
  ];
  const cases: BenchCase[] = [
    { name: 'the upstream head\'s copy out of the core alone (no tracing)', fn: () => { sink.value += region.slice(0, HEAD.length).length; } },
    { name: 'a traced request, not sampled (the 99 %): filter, lines, attempt, log', fn: () => { sink.value += unsampled.run(); } },
    { name: 'a traced request, sampled: the same + its 2 spans built and reported', fn: () => { sink.value += sampled.run(); } },
  ];
  return {
    title: 'Distributed tracing, per request',
    about: 'The tracing filter, the propagation lines appended to the upstream head as the core\'s head writer does (StreamTrace.writeTail,\n' +
      'then the head\'s one copy out of Wasm memory), the upstream attempt and onLog, for a request that starts a trace;\n' +
      'the unsampled case is what 99 % of requests pay at Istio\'s 1 % sampling. The copy alone is the no-tracing floor of that step.',
    groups: [
      {
        title: 'tracing · per request',
        cases,
        ratios: [{ label: 'unsampled traced request ÷ the head copy alone (time)', num: 'the upstream head\'s copy out of the core alone (no tracing)', den: 'a traced request, not sampled (the 99 %): filter, lines, attempt, log' }],
      },
      {
        title: 'tracing · the app\'s sidecar, a mesh peer\'s context',
        cases: peer,
        ratios: [{ label: 'bytes ÷ strings (time)', num: peer[0]!.name, den: peer[1]!.name }],
      },
    ],
  };
}
