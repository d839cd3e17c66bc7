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
import type { StreamTrace } from '../host/telemetry/tracing/stream-trace.js';
import { sink, type BenchCase, type BenchSuite } from './runner.js';

/** A request as wrk sends it through the benchmark gateway (no trace context: the proxy starts the trace). */
const HEADERS = ['host', 'bench.example', 'user-agent', 'wrk', 'accept', '*/*', 'x-forwarded-proto', 'http', 'x-request-id', '0a1b2c3d-4e5f-6789-abcd-ef0123456789'];
/** The upstream head the core writes for it (before the propagation lines). */
const HEAD = Buffer.from(
  'GET / HTTP/1.1\r\nhost: bench.example\r\nuser-agent: wrk\r\naccept: */*\r\nx-forwarded-proto: http\r\n' +
  'x-request-id: 0a1b2c3d-4e5f-6789-abcd-ef0123456789\r\nx-envoy-attempt-count: 1\r\n' +
  'x-envoy-peer-metadata-id: router~10.0.0.1~bench-gateway.default~default.svc.cluster.local\r\n\r\n', 'latin1');

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
  const n = HEAD.length;
  const run = (): number => {
    stream.trace = null;
    filter.onRequestHeaders!(stream);
    const trace = stream.trace!;
    const at = trace.writeTail(region, n - 2);
    region[at] = 0x0d;
    region[at + 1] = 0x0a;
    const head = region.slice(0, at + 2);
    trace.attemptStart('outbound|80||bench', '10.0.0.8:8080');
    trace.attemptEnd(200, '-');
    filter.onLog!(stream);
    return head.length;
  };
  return { run, reported: () => reported };
}

export function tracingSuite(): BenchSuite {
  const unsampled = tracedRequest(0);
  const sampled = tracedRequest(100);
  const region = new Uint8Array(4096);
  region.set(HEAD);
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
    ],
  };
}
