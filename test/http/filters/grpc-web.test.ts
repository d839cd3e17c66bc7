// The grpc_web filter on a fake stream: which requests it translates (Envoy's four content-types),
// what it does to the request head (application/grpc, te: trailers, the response's content-type),
// and its body translation: binary passes through, text is base64-decoded (a bad body answered
// 400 / reset), the response's trailers become the trailer frame (base64 in text mode).
import { describe, expect, it } from 'vitest';
import { fakeStream, type FakeStream } from '../../helpers/fake-stream.js';
import { grpcWebFilter, grpcWebKind, GRPC_WEB_PROTO, GRPC_WEB_TEXT_PROTO } from '../../../host/http/filters/grpc-web.js';
import { FilterStatus } from '../../../host/http/filter.js';
import type { BodyTransform } from '../../../host/http/body-transform.js';

function run(headers: Record<string, string>): { s: FakeStream; transform: BodyTransform | null; lengthChanges: boolean; taken: string[] } {
  const s = fakeStream({ method: 'POST', path: '/pkg.Svc/M', headers });
  const got = { transform: null as BodyTransform | null, lengthChanges: false, taken: [] as string[] };
  s.transformBody = (t, changes) => {
    got.transform = t;
    got.lengthChanges = changes;
  };
  s.takeResponseHeaders = (names) => void got.taken.push(...names);
  expect(grpcWebFilter.onRequestHeaders!(s)).toBe(FilterStatus.Continue);
  return { s, ...got };
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const text = (u: Uint8Array | null): string => Buffer.from(u!).toString('latin1');

describe('grpcWebKind', () => {
  it("Envoy's content-types, any case; nothing else", () => {
    expect(['application/grpc-web', 'application/grpc-web+proto', 'Application/GRPC-Web'].map(grpcWebKind)).toEqual([1, 1, 1]);
    expect(['application/grpc-web-text', 'application/grpc-web-text+proto'].map(grpcWebKind)).toEqual([2, 2]);
    expect([null, 'application/grpc', 'application/grpc-web+json', 'application/grpc-webx', 'text/plain'].map(grpcWebKind)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('grpc_web filter', () => {
  it('leaves other requests alone (gRPC, JSON, a CORS preflight)', () => {
    const others: Array<Record<string, string>> = [{ 'content-type': 'application/grpc' }, { 'content-type': 'application/json' }, { origin: 'https://a', 'access-control-request-method': 'POST' }];
    for (const headers of others) {
      const r = run(headers);
      expect(r.transform).toBeNull();
      expect(r.s.grpc).toBe(false);
      expect(r.s.responseHeaders).toEqual([]);
    }
  });

  it('binary: forwarded as application/grpc with te: trailers; the response is application/grpc-web+proto; body bytes unchanged', () => {
    const r = run({ 'content-type': 'application/grpc-web+proto', 'content-length': '10', 'x-grpc-web': '1' });
    expect(r.s.requestHeader('content-type')).toBe('application/grpc');
    expect(r.s.requestHeader('te')).toBe('trailers');
    expect(r.s.requestHeader('x-grpc-web')).toBe('1');
    expect(r.s.grpc).toBe(true);
    expect(r.taken).toEqual(['content-type']);
    expect(r.s.responseHeaders).toEqual([['content-type', GRPC_WEB_PROTO]]);
    expect(r.lengthChanges).toBe(false);
    const t = r.transform!;
    expect(t.grpcReplyContentType).toBe(GRPC_WEB_PROTO);
    const msg = bytes(0, 0, 0, 0, 2, 8, 1);
    expect(t.request(msg, true)).toBe(msg);
    expect(t.response(msg)).toBe(msg);
    const end = t.responseEnd(['grpc-status', '0', 'grpc-message', 'fine']);
    expect(end.trailers).toBeUndefined();
    expect(text(end.data)).toBe('\x80\x00\x00\x00\x22grpc-status:0\r\ngrpc-message:fine\r\n');
    // No trailers (an HTTP/1 upstream): no frame.
    expect(r.transform!.responseEnd(undefined).data).toBeNull();
  });

  it('text: the body is base64-decoded across chunks (its length no longer known); a text response is base64 with the trailer frame encoded on its own', () => {
    const r = run({ 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text' });
    expect(r.lengthChanges).toBe(true);
    expect(r.s.responseHeaders).toEqual([['content-type', GRPC_WEB_TEXT_PROTO]]);
    const t = r.transform!;
    expect(t.grpcReplyContentType).toBe(GRPC_WEB_TEXT_PROTO);
    const wire = Buffer.from(Uint8Array.of(0, 0, 0, 0, 2, 8, 1)).toString('base64'); // AAAAAAIIAQ==
    expect([...t.request(Buffer.from(wire.slice(0, 5)), false)]).toEqual([0, 0, 0]);
    expect([...t.request(Buffer.from(wire.slice(5)), true)]).toEqual([0, 2, 8, 1]);
    const a = t.response(bytes(0, 0, 0, 0));
    const b = t.response(bytes(1, 7));
    const end = t.responseEnd(['grpc-status', '0']);
    const out = text(a) + text(b) + text(end.data);
    const frame = Buffer.from('\x80\x00\x00\x00\x0fgrpc-status:0\r\n', 'latin1').toString('base64');
    expect(out).toBe(Buffer.from(Uint8Array.of(0, 0, 0, 0, 1, 7)).toString('base64') + frame);
  });

  it('a text request answered in binary when the client does not accept text', () => {
    const r = run({ 'content-type': 'application/grpc-web-text+proto' });
    expect(r.s.responseHeaders).toEqual([['content-type', GRPC_WEB_PROTO]]);
    expect(r.transform!.response(bytes(1, 2))).toEqual(bytes(1, 2));
  });

  it('a body that is not base64: 400 "Bad gRPC-web request" before the response, a reset after', () => {
    const r = run({ 'content-type': 'application/grpc-web-text' });
    expect(r.transform!.request(Buffer.from('AA*A'), false).length).toBe(0);
    expect(r.s.replies).toEqual([{ status: '400 Bad Request', headers: [], body: 'Bad gRPC-web request', flag: 'DPE' }]);
    const late = run({ 'content-type': 'application/grpc-web-text' });
    let reset = 0;
    Object.assign(late.s, { responseStarted: true, resetStream: () => void reset++ });
    late.transform!.request(Buffer.from('AAA'), true);
    expect(reset).toBe(1);
    expect(late.s.flags).toEqual(['DPE']);
  });
});
