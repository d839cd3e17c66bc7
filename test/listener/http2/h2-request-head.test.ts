// readH2RequestHead: an HTTP/2 request's flat header list read into the HTTP layer's request head:
// pseudo-headers taken out, Host first from :authority (a Host field dropped; used when there is no
// :authority), split cookies joined last, te: trailers, the body framing, the extended CONNECT as
// the WebSocket upgrade, and the refusals (400, 431, 501). The result object is reused between
// calls; its `headers` list is the request's own. A property test checks the field list against
// a plain model (push, splice, unshift) on random lists.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readH2RequestHead } from '../../../host/listener/http2/h2-request-head.js';

const GET = [':method', 'GET', ':scheme', 'http', ':path', '/p', ':authority', 'svc.test'];

/** What the fields should read as: the model the function was first written as. */
function modelHeaders(raw: readonly string[]): { headers: string[]; authority: string } {
  let authority = '';
  let host = -1;
  let cookie: string | null = null;
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58) {
      if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'host') host = headers.length;
    headers.push(name, value);
  }
  if (cookie !== null) headers.push('cookie', cookie);
  if (authority === '' && host >= 0) authority = headers[host + 1]!;
  if (host >= 0) headers.splice(host, 2);
  if (authority !== '') headers.unshift('host', authority);
  return { headers, authority };
}

describe('readH2RequestHead', () => {
  it('a gRPC request: Host first from :authority, the regular fields in order, te: trailers, a body of unknown length', () => {
    const h = readH2RequestHead([':method', 'POST', ':scheme', 'http', ':path', '/svc/M', ':authority', 'svc:50051', 'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', '5S'], false, 100);
    expect(h).toMatchObject({ method: 'POST', path: '/svc/M', authority: 'svc:50051', trailers: true, bodyFraming: 'chunked', direct: true, protocolError: null, upgrade: null });
    expect(h.headers).toEqual(['host', 'svc:50051', 'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', '5S']);
    expect(h.headBytes).toBe([':method', 'POST', ':scheme', 'http', ':path', '/svc/M', ':authority', 'svc:50051', 'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', '5S'].join('').length + 7 * 32);
  });

  it('a Host field is dropped for :authority; without :authority the Host field is the authority; with neither there is no Host', () => {
    const a = readH2RequestHead([...GET, 'host', 'other', 'x', '1'], true, 100);
    expect(a.headers).toEqual(['host', 'svc.test', 'x', '1']);
    expect(a.direct).toBe(false);
    const b = readH2RequestHead([':method', 'GET', ':scheme', 'http', ':path', '/', 'x', '1', 'host', 'h.test'], true, 100);
    expect([b.authority, b.headers]).toEqual(['h.test', ['host', 'h.test', 'x', '1']]);
    const c = readH2RequestHead([':method', 'GET', ':scheme', 'http', ':path', '/', 'x', '1'], true, 100);
    expect([c.authority, c.headers]).toEqual(['', ['x', '1']]);
  });

  it('split cookies are joined into one field, last', () => {
    const h = readH2RequestHead([...GET, 'cookie', 'a=1', 'x', 'y', 'cookie', 'b=2'], true, 100);
    expect(h.headers).toEqual(['host', 'svc.test', 'x', 'y', 'cookie', 'a=1; b=2']);
    expect(h.direct).toBe(false);
  });

  it('content-length frames the body; an invalid one is a 400; END_STREAM means no body', () => {
    expect(readH2RequestHead([...GET, 'content-length', '12'], false, 100)).toMatchObject({ bodyFraming: 'length', bodyLength: 12, contentLength: 12 });
    expect(readH2RequestHead([...GET, 'content-length', '0'], false, 100).bodyFraming).toBe('none');
    expect(readH2RequestHead([...GET, 'content-length', 'x'], false, 100).protocolError).toEqual({ status: 400, code: 'invalid_content_length' });
    expect(readH2RequestHead([...GET, 'content-length', '12'], true, 100).bodyFraming).toBe('none');
  });

  it('refusals: a missing pseudo-header 400, more fields than allowed 431, CONNECT 501', () => {
    expect(readH2RequestHead([':method', 'GET', ':path', '/'], true, 100).protocolError).toEqual({ status: 400, code: 'missing_pseudo_header' });
    const many = [...GET];
    for (let i = 0; i < 5; i++) many.push(`x-${i}`, 'v');
    expect(readH2RequestHead(many, true, 4).protocolError).toEqual({ status: 431, code: 'too_many_headers' });
    expect(readH2RequestHead(many, true, 5).protocolError).toBeNull();
    expect(readH2RequestHead([':method', 'CONNECT', ':path', '/x', ':authority', 'a:1'], true, 100).protocolError).toEqual({ status: 501, code: 'unsupported_method' });
  });

  it('an extended CONNECT :protocol websocket reads as the HTTP/1.1 upgrade, a Sec-WebSocket-Key made when absent', () => {
    const h = readH2RequestHead([':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'http', ':path', '/ws', ':authority', 'svc.test'], false, 100);
    expect(h).toMatchObject({ method: 'GET', upgrade: 'websocket', bodyFraming: 'none', protocolError: null, direct: false });
    expect(h.headers.slice(0, 3)).toEqual(['host', 'svc.test', 'sec-websocket-key']);
    expect(Buffer.from(h.headers[3]!, 'base64')).toHaveLength(16);
  });

  it('the result object is reused; each request gets its own headers list, which takes added fields', () => {
    const a = readH2RequestHead([...GET, 'x', '1'], true, 100);
    const aHeaders = a.headers;
    const b = readH2RequestHead([...GET, 'y', '2'], true, 100);
    expect(b).toBe(a);
    expect(b.headers).not.toBe(aHeaders);
    expect(aHeaders).toEqual(['host', 'svc.test', 'x', '1']);
    aHeaders.push('x-forwarded-for', '10.0.0.1', 'x-forwarded-proto', 'http', 'x-request-id', 'id');
    expect(aHeaders).toEqual(['host', 'svc.test', 'x', '1', 'x-forwarded-for', '10.0.0.1', 'x-forwarded-proto', 'http', 'x-request-id', 'id']);
    expect(aHeaders.length).toBe(10);
    expect(b.headers).toEqual(['host', 'svc.test', 'y', '2']);
  });

  it('property: the fields read as the model reads them (Host, cookies, order), whatever the list', () => {
    const name = fc.constantFrom('host', 'cookie', 'x-a', 'x-b', 'content-type', ':authority', 'user-agent');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 6 })), { maxLength: 12 }), (fields) => {
        const raw = [':method', 'GET', ':scheme', 'http', ':path', '/'];
        for (const [n, v] of fields) raw.push(n, v);
        const h = readH2RequestHead(raw, true, 100);
        const m = modelHeaders(raw);
        expect([...h.headers]).toEqual(m.headers);
        expect(h.headers.length).toBe(m.headers.length);
        expect(h.authority).toBe(m.authority);
      }),
      { numRuns: 500 },
    );
  });
});
