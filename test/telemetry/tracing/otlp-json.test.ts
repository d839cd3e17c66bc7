// The OTLP/HTTP JSON body, written as a string: it parses to the ExportTraceServiceRequest the
// spans describe (grouped by service, ids, nanosecond strings, kinds, attributes with the peer,
// status), with strings that need escaping kept intact.
import { describe, it, expect } from 'vitest';
import { otlpBody } from '../../../host/telemetry/tracing/otlp-json.js';
import type { FinishedSpan } from '../../../host/telemetry/tracing/span.js';

function span(extra: Partial<FinishedSpan>): FinishedSpan {
  return {
    traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: '00000000000010ab', parentId: null, name: 'a', kind: 'SERVER',
    startUs: 1_700_000_000_000_123, durationUs: 0, tags: {}, localService: 'reviews.default', localIp: '10.0.0.7', remote: null, ...extra,
  };
}

describe('otlpBody', () => {
  it('parses to the request the spans describe, grouped by service, escapes intact', () => {
    const odd = 'q"uo\\te \n\u0001 é 🚀 </script>';
    const body = otlpBody([
      span({ name: odd, tags: { [odd]: odd, 'http.status_code': '500', error: 'true' }, remote: '10.0.0.9:43210' }),
      span({ localService: 'ratings.default', traceId: '48485a3953bb6124', spanId: '0000000000000002', parentId: '00000000000010ab', kind: 'CLIENT', durationUs: 1500, tags: { 'net.peer.address': 'given' }, remote: '10.0.0.12:9080' }),
      span({ spanId: '0000000000000003', tags: {} }),
    ]);
    const attr = (key: string, v: string) => ({ key, value: { stringValue: v } });
    expect(JSON.parse(body)).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', 'reviews.default')] },
          scopeSpans: [{ scope: { name: 'wasmesh' }, spans: [
            { traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: '00000000000010ab', name: odd, kind: 2, startTimeUnixNano: '1700000000000123000', endTimeUnixNano: '1700000000000124000',
              attributes: [attr(odd, odd), attr('http.status_code', '500'), attr('error', 'true'), attr('net.peer.address', '10.0.0.9:43210')], status: { code: 2 } },
            { traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: '0000000000000003', name: 'a', kind: 2, startTimeUnixNano: '1700000000000123000', endTimeUnixNano: '1700000000000124000',
              attributes: [], status: { code: 0 } },
          ] }],
        },
        {
          resource: { attributes: [attr('service.name', 'ratings.default')] },
          scopeSpans: [{ scope: { name: 'wasmesh' }, spans: [
            { traceId: '000000000000000048485a3953bb6124', spanId: '0000000000000002', parentSpanId: '00000000000010ab', name: 'a', kind: 3, startTimeUnixNano: '1700000000000123000', endTimeUnixNano: '1700000000001623000',
              attributes: [attr('net.peer.address', 'given')], status: { code: 0 } },
          ] }],
        },
      ],
    });
  });

  it('an empty batch is an empty request', () => {
    expect(JSON.parse(otlpBody([]))).toEqual({ resourceSpans: [] });
  });
});
