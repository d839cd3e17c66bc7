// Envoy's format strings as wasmesh compiles and renders them: Istio's default TEXT format field
// for field, JSON typing (numbers stay numbers (a header value is a string), missing values null), `-` for missing values,
// %REQ(A?B)% fallback and :N truncation, and refusal (with the offset) of what is not served.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  AccessLogFormatError, compileJson, compileText, ISTIO_DEFAULT_JSON_LABELS, ISTIO_DEFAULT_TEXT_FORMAT, renderJson, renderText, type AccessLogRecord,
} from '../../host/common/access-log-format.js';

function record(over: Partial<AccessLogRecord> = {}, headers: Record<string, string> = {}): AccessLogRecord {
  return {
    startTime: Date.UTC(2026, 11, 6, 4, 5, 6, 789), method: 'GET', path: '/productpage?x=1', authority: 'bookinfo.example.com', protocol: 'HTTP/1.1',
    code: 200, flags: '-', bytesReceived: 0, bytesSent: 1234, durationMs: 12.4, upstreamServiceTimeMs: 10.6,
    upstreamHost: '10.0.0.7:9080', upstreamCluster: 'outbound|9080||productpage.default.svc.cluster.local', route: 'default',
    requestId: 'abc-123', forwardedFor: '10.1.1.1', downstreamRemoteAddress: '10.1.1.1', downstreamLocalAddress: '10.0.0.5:8080',
    requestedServerName: '', attempts: 1, grpc: false, grpcStatus: -1,
    requestHeader: (n) => headers[n] ?? null,
    ...over,
  };
}

describe('TEXT', () => {
  test("Istio's default format, field for field", () => {
    const f = compileText(ISTIO_DEFAULT_TEXT_FORMAT.slice(0, -1));
    expect(renderText(f, record({}, { 'user-agent': 'curl/8' }))).toBe(
      '[2026-12-06T04:05:06.789Z] "GET /productpage?x=1 HTTP/1.1" 200 - - - "-" 0 1234 12 11 "10.1.1.1" "curl/8" "abc-123" ' +
      '"bookinfo.example.com" "10.0.0.7:9080" outbound|9080||productpage.default.svc.cluster.local - 10.0.0.5:8080 10.1.1.1 - default');
  });

  test('missing values are "-"; X-ENVOY-ORIGINAL-PATH falls back to :path; :N truncates', () => {
    const f = compileText('%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %REQ(USER-AGENT):4% %UPSTREAM_HOST% 100%%');
    expect(renderText(f, record({ upstreamServiceTimeMs: -1, upstreamHost: '' }, { 'user-agent': 'Mozilla/5' }))).toBe('- /productpage?x=1 Mozi - 100%');
    expect(renderText(f, record({}, { 'x-envoy-original-path': '/orig' }))).toMatch(/^11 \/orig - /);
  });

  test('refused with the offset: unknown operators, custom START_TIME, response headers other than the service time, a stray %', () => {
    const offset = (fmt: string): number => {
      try {
        compileText(fmt);
      } catch (e) {
        expect(e).toBeInstanceOf(AccessLogFormatError);
        return (e as AccessLogFormatError).offset;
      }
      throw new Error('expected a refusal');
    };
    expect(offset('abc %NOPE%')).toBe(4);
    expect(offset('%START_TIME(%s)%')).toBe(0);
    expect(offset('x %RESP(CONTENT-TYPE)%')).toBe(2);
    expect(offset('100% done')).toBe(3);
    expect(offset('%REQ()%')).toBe(0);
  });

  test('IPv6 addresses: bracketed with a port, bare without (as Envoy prints them)', () => {
    const f = compileText('%UPSTREAM_HOST% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%');
    expect(renderText(f, record({ upstreamHost: '[fd00::7]:9080', downstreamLocalAddress: '[::1]:8080', downstreamRemoteAddress: '[fd00::1]:5000' })))
      .toBe('[fd00::7]:9080 [::1]:8080 ::1 fd00::1');
    expect(renderText(f, record({ downstreamRemoteAddress: 'fd00::1' })).split(' ')[3]).toBe('fd00::1');
    expect(renderText(f, record({ downstreamRemoteAddress: '10.1.1.1:5000' })).split(' ')[3]).toBe('10.1.1.1');
  });

  test('text without operators renders as written (property)', () => {
    fc.assert(fc.property(fc.string().filter((s) => !s.includes('%')), (s) => renderText(compileText(s), record()) === s));
  });
});

describe('JSON', () => {
  test("Istio's default labels: numbers stay numbers (a header value is a string), missing values null, keys sorted as Envoy writes them", () => {
    const out = JSON.parse(renderJson(compileJson(ISTIO_DEFAULT_JSON_LABELS), record({ code: 503, flags: 'UF', upstreamServiceTimeMs: -1 })));
    expect(Object.keys(out)).toEqual(Object.keys(ISTIO_DEFAULT_JSON_LABELS).sort());
    expect(out).toMatchObject({ response_code: 503, response_flags: 'UF', bytes_sent: 1234, duration: 12, upstream_service_time: null, user_agent: null, method: 'GET', start_time: '2026-12-06T04:05:06.789Z' });
  });

  test('a value mixing text and operators is a string; quotes and control characters are escaped', () => {
    const f = compileJson({ line: '%REQ(:METHOD)% %RESPONSE_CODE%', ua: '%REQ(USER-AGENT)%' });
    expect(JSON.parse(renderJson(f, record({}, { 'user-agent': 'a "b"\n' })))).toEqual({ line: 'GET 200', ua: 'a "b"\n' });
  });
});

describe('%GRPC_STATUS%', () => {
  test('CAMEL_STRING (default), SNAKE_STRING and NUMBER; the trailers\' status first, else the HTTP status mapped', () => {
    const f = compileText('%GRPC_STATUS% %GRPC_STATUS(CAMEL_STRING)% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS(NUMBER)% %GRPC_STATUS_NUMBER%');
    expect(renderText(f, record({ grpc: true, grpcStatus: 0 }))).toBe('OK OK OK 0 0');
    expect(renderText(f, record({ grpc: true, grpcStatus: 4 }))).toBe('DeadlineExceeded DeadlineExceeded DEADLINE_EXCEEDED 4 4');
    expect(renderText(f, record({ grpc: true, grpcStatus: 1 }))).toBe('Canceled Canceled CANCELLED 1 1');
    // No grpc-status: Envoy's getGrpcStatus infers it from the HTTP status (503 → UNAVAILABLE).
    expect(renderText(f, record({ grpc: true, grpcStatus: -1, code: 503 }))).toBe('Unavailable Unavailable UNAVAILABLE 14 14');
    // A user-defined code past the canonical names prints as its number.
    expect(renderText(f, record({ grpc: true, grpcStatus: 42 }))).toBe('42 42 42 42 42');
  });

  test('"-" (JSON null) for a request that is not gRPC, and for a gRPC request that got no response', () => {
    const f = compileText('%GRPC_STATUS%|%GRPC_STATUS_NUMBER%');
    expect(renderText(f, record({ grpc: false, grpcStatus: 0 }))).toBe('-|-');
    expect(renderText(f, record({ grpc: true, grpcStatus: -1, code: 0 }))).toBe('-|-');
    expect(renderJson(compileJson({ g: '%GRPC_STATUS(NUMBER)%', n: '%GRPC_STATUS%' }), record({ grpc: true, grpcStatus: 14 }))).toBe('{"g":14,"n":"Unavailable"}');
  });

  test('an unknown form is refused at its offset', () => {
    expect(() => compileText('x %GRPC_STATUS(LOWER)%')).toThrow(AccessLogFormatError);
    try {
      compileText('x %GRPC_STATUS(LOWER)%');
    } catch (e) {
      expect((e as AccessLogFormatError).offset).toBe(2);
      expect((e as Error).message).toMatch(/CAMEL_STRING, SNAKE_STRING or NUMBER/);
    }
  });
});
