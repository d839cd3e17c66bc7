// An HTTP/2 response header list read into the parsed-head struct by the core
// (assembly/h2/response-head-list.ts, host/core/h2/h2-response-head.ts) and listed through the
// core's response filter as the router reads it (core-h2-response-head.ts): the numbers, the
// fields with hop-by-hop dropped and edits applied, and every refusal RFC 9113 §8.2.1/§8.3.2 asks.
import { describe, test, expect } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../host/core/h2/hpack.js';
import { H2_OK } from '../../../host/core/h2/h2-status.js';
import { H2ResponseHeadStruct } from '../../../host/core/h2/h2-response-head.js';
import { EditList } from '../../../host/core/codec/edit-list.js';
import { CoreH2ResponseHeads } from '../../../host/upstream/conn-pool/http2/core-h2-response-head.js';
import type { ResponseHead } from '../../../host/upstream/upstream-head.js';

const core = new Core();
const enc = new HpackEncoder(core);
const dec = new HpackDecoder(core, { maxHeaders: 256 });
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

function decoded(fields: HeaderField[]): HpackDecoder {
  expect(dec.decode(enc.encode(fields))).toBe(H2_OK);
  return dec;
}

describe('H2ResponseHeadStruct', () => {
  const s = new H2ResponseHeadStruct(core);

  test('code, content-length and grpc-status read; absent ones -1', () => {
    expect(s.read(decoded([[':status', '200'], ['content-length', '42'], ['grpc-status', '14']]))).toBeNull();
    expect([s.code, s.contentLength, s.grpcStatus]).toEqual([200, 42, 14]);
    expect(s.read(decoded([[':status', '503'], ['x', 'y']]))).toBeNull();
    expect([s.code, s.contentLength, s.grpcStatus]).toEqual([503, -1, -1]);
    expect(s.read(decoded([[':status', '200'], ['grpc-status', 'x1']]))).toBeNull();
    expect(s.grpcStatus).toBe(-1);
    expect(s.read(decoded([[':status', '200'], ['content-length', '7'], ['content-length', '7']]))).toBeNull();
    expect(s.contentLength).toBe(7);
  });

  test.each<[string, HeaderField[], string]>([
    ['no :status', [['x', 'y']], 'bad_status'],
    ['two :status', [[':status', '200'], [':status', '204']], 'bad_status'],
    [':status of two digits', [[':status', '20']], 'bad_status'],
    [':status below 100', [[':status', '099']], 'bad_status'],
    [':status not digits', [[':status', '2x0']], 'bad_status'],
    ['a request pseudo-header', [[':status', '200'], [':path', '/']], 'bad_pseudo_header'],
    ['a pseudo-header after a field', [['x', 'y'], [':status', '200']], 'bad_pseudo_header'],
    ['an upper-case name', [[':status', '200'], ['X-Up', 'y']], 'bad_field'],
    ['a name that is not a token', [[':status', '200'], ['a b', 'y']], 'bad_field'],
    ['CR LF in a value (response splitting on an HTTP/1 downstream)', [[':status', '200'], ['x', 'a\r\nset-cookie: evil']], 'bad_field'],
    ['NUL in a value', [[':status', '200'], ['x', 'a\u0000b']], 'bad_field'],
    ['a value with leading whitespace', [[':status', '200'], ['x', ' y']], 'bad_field'],
    ['a value with trailing whitespace', [[':status', '200'], ['x', 'y\t']], 'bad_field'],
    ['content-length not digits', [[':status', '200'], ['content-length', '1e3']], 'bad_content_length'],
    ['content-length empty', [[':status', '200'], ['content-length', '']], 'bad_content_length'],
    ['two content-lengths that disagree', [[':status', '200'], ['content-length', '1'], ['content-length', '2']], 'bad_content_length'],
    ['101 fields (Envoy max_headers_count 100)', [[':status', '200'], ...Array.from({ length: 101 }, (_, i): HeaderField => [`f${i}`, String(i)])], 'too_many_headers'],
  ])('refuses %s', (_, fields, error) => {
    expect(s.read(decoded(fields))).toBe(error);
  });

  test('100 fields: the limit itself is accepted', () => {
    expect(s.read(decoded([[':status', '200'], ...Array.from({ length: 100 }, (_, i): HeaderField => [`f${i}`, String(i)])]))).toBeNull();
  });
});

describe('CoreH2ResponseHeads (the router\'s view)', () => {
  const heads = new CoreH2ResponseHeads(core);
  const none = new EditList(core, { set: [], add: [], remove: [] });

  function listed(head: ResponseHead, edits = none, keepCl = false): { status: string; fields: Array<[string, string]> } {
    let status = '';
    const fields: Array<[string, string]> = [];
    head.fields.forEachResponseField(edits, keepCl, (st) => (status = latin1(st)), (n, v) => fields.push([latin1(n), latin1(v)]));
    return { status, fields };
  }

  test('framing: length, chunked (no content-length), none (END_STREAM, HEAD, 204, 304)', () => {
    const read = (fields: HeaderField[], end = false, isHead = false): ResponseHead => {
      const r = heads.read(decoded(fields), end, isHead);
      if ('error' in r) throw new Error(r.error);
      return r;
    };
    expect(read([[':status', '200'], ['content-length', '5']])).toMatchObject({ code: 200, framing: 'length', contentLength: 5, grpcStatus: -1 });
    expect(read([[':status', '200']])).toMatchObject({ framing: 'chunked', contentLength: -1 });
    expect(read([[':status', '200'], ['grpc-status', '0']], true)).toMatchObject({ framing: 'none', grpcStatus: 0 });
    expect(read([[':status', '200'], ['content-length', '5']], false, true)).toMatchObject({ framing: 'none', contentLength: -1 });
    expect(read([[':status', '204']])).toMatchObject({ framing: 'none' });
    expect(read([[':status', '304'], ['content-length', '9']])).toMatchObject({ framing: 'none' });
    expect(heads.read(decoded([[':status', '2']]), false, false)).toEqual({ error: 'bad_status' });
  });

  test('fields through the core\'s filter: hop-by-hop and content-length dropped, edits applied, the status text', () => {
    const r = heads.read(decoded([[':status', '404'], ['content-type', 'text/plain'], ['connection', 'x-hop'], ['x-hop', '1'],
      ['keep-alive', 'timeout=5'], ['content-length', '3'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-internal', 'secret']]), false, false);
    if ('error' in r) throw new Error(r.error);
    const edits = new EditList(core, { remove: ['x-internal'], set: [['server', 'wasmesh']], add: [['x-added', 'yes']] });
    expect(listed(r, edits)).toEqual({
      status: '404 Not Found',
      fields: [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['server', 'wasmesh'], ['x-added', 'yes']],
    });
    expect(listed(r, none, true).fields).toContainEqual(['content-length', '3']);
    edits.dispose();
  });
});
