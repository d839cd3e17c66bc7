// An upstream request head (the core's HTTP/1.1 bytes) encoded as an HTTP/2 header block by the
// core (assembly/h2/request-head-list.ts through HpackEncoder.encodeRequestHead): the fields a
// decoder reads back, the same as the text conversion the node:http2 pool uses
// (h2-request-headers.ts) over random heads, the refusals, and a refused head leaving the HPACK
// table in step with the peer's.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder } from '../../../host/core/h2/hpack.js';
import { H2_OK } from '../../../host/core/h2/h2-status.js';
import { h2RequestHeaders } from '../../../host/upstream/conn-pool/http2/h2-request-headers.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

let core: Core | undefined;
const testCore = (): Core => (core ??= new Core());
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Encodes `head` and decodes the block with a decoder in step; the fields, or the refusal. */
function roundTrip(enc: HpackEncoder, dec: HpackDecoder, head: string, scheme: 'http' | 'https' = 'http'): Array<[string, string]> | string {
  const block = enc.encodeRequestHead(bytes(head), scheme);
  if (typeof block === 'string') return block;
  expect(dec.decode(block)).toBe(H2_OK);
  return dec.headers();
}

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => n.toLowerCase() !== 'cookie' && n.toLowerCase() !== 'host');
const value = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const randomHead = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path: fc.stringMatching(/^\/[!-~]{0,40}$/),
  host: fc.option(value, { nil: undefined }),
  fields: fc.array(fc.tuple(fc.oneof(name, fc.constantFrom('Connection', 'TE', 'Upgrade', 'Keep-Alive', 'Transfer-Encoding')), fc.oneof(value, fc.constant('trailers'))), { maxLength: 30 }),
});
type RandomHead = { method: string; path: string; host: string | undefined; fields: Array<[string, string]> };

/** Pseudo-headers in order, then the fields by name (a stable sort keeps repeats in order). */
const sorted = (l: Array<[string, string]>): Array<[string, string]> => [
  ...l.filter(([n]) => n[0] === ':'),
  ...l.filter(([n]) => n[0] !== ':').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
];

const sameAsText = wasmProperty(import.meta.url, 'the same fields as the text conversion', () => [
  fc.array(randomHead, { minLength: 1, maxLength: 8 }),
  (heads: RandomHead[]) => {
    const c = new Core();
    const enc = new HpackEncoder(c);
    const dec = new HpackDecoder(c);
    for (const h of heads) {
      const text = `${h.method} ${h.path} HTTP/1.1\r\n${h.host === undefined ? '' : `Host: ${h.host}\r\n`}${h.fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
      const obj = h2RequestHeaders(bytes(text), 'http');
      const expected: Array<[string, string]> = [[':method', obj[':method'] as string], [':scheme', 'http']];
      if (obj[':authority'] !== undefined) expected.push([':authority', obj[':authority'] as string]);
      expected.push([':path', obj[':path'] as string]);
      for (const key of Object.keys(obj)) {
        if (key[0] === ':') continue;
        const v = obj[key]!;
        for (const x of Array.isArray(v) ? v : [v]) expected.push([key, String(x)]);
      }
      const got = roundTrip(enc, dec, text);
      if (typeof got === 'string') throw new Error(`refused: ${got}`);
      expect(sorted(got)).toEqual(sorted(expected));
    }
  },
], { numRuns: 150 });

describe('HpackEncoder.encodeRequestHead', () => {
  test('request line and Host as pseudo-headers first, names lower-cased, values trimmed, connection-specific fields dropped', () => {
    const enc = new HpackEncoder(testCore());
    const dec = new HpackDecoder(testCore());
    const head = 'POST /a/b?c=1 HTTP/1.1\r\nHost: api.example:8080\r\nContent-Type:  application/grpc \r\nTE: trailers\r\n' +
      'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n' +
      'X-Envoy-Attempt-Count: 1\r\nSet-Thing: a\r\nset-thing: b\r\n\r\n';
    expect(roundTrip(enc, dec, head, 'https')).toEqual([
      [':method', 'POST'], [':scheme', 'https'], [':authority', 'api.example:8080'], [':path', '/a/b?c=1'],
      ['content-type', 'application/grpc'], ['te', 'trailers'], ['x-envoy-attempt-count', '1'], ['set-thing', 'a'], ['set-thing', 'b'],
    ]);
  });

  test('te other than trailers is dropped (RFC 9113 §8.2.2); a second Host is not a field', () => {
    const enc = new HpackEncoder(testCore());
    const dec = new HpackDecoder(testCore());
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\nhost: a\r\nte: gzip\r\nhost: b\r\nx: 1\r\n\r\n')).toEqual([
      [':method', 'GET'], [':scheme', 'http'], [':authority', 'a'], [':path', '/'], ['x', '1'],
    ]);
  });

  test('no Host: no :authority, the fields follow :path', () => {
    const enc = new HpackEncoder(testCore());
    const dec = new HpackDecoder(testCore());
    expect(roundTrip(enc, dec, 'GET /x HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n')).toEqual([
      [':method', 'GET'], [':scheme', 'http'], [':path', '/x'], ['a', '1'], ['b', '2'],
    ]);
    expect(roundTrip(enc, dec, 'OPTIONS * HTTP/1.1\r\n\r\n')).toEqual([[':method', 'OPTIONS'], [':scheme', 'http'], [':path', '*']]);
  });

  test('refusals: not a request line, not a header field, more fields than a list holds', () => {
    const enc = new HpackEncoder(testCore());
    const dec = new HpackDecoder(testCore(), { maxHeaders: 256 });
    expect(roundTrip(enc, dec, 'GET\r\n\r\n')).toBe('not_a_request_line');
    expect(roundTrip(enc, dec, 'GET /\r\n\r\n')).toBe('not_a_request_line');
    expect(roundTrip(enc, dec, ' / HTTP/1.1\r\n\r\n')).toBe('not_a_request_line');
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\nno colon here\r\n\r\n')).toBe('not_a_header_field');
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\n: empty name\r\n\r\n')).toBe('not_a_header_field');
    const lines = (n: number): string => Array.from({ length: n }, (_, i) => `f${i}: ${i}\r\n`).join('');
    expect(roundTrip(enc, dec, `GET / HTTP/1.1\r\nhost: h\r\n${lines(253)}\r\n`)).toBe('too_many_fields');
    // 4 pseudo-headers + 252 fields: exactly a full list.
    const full = roundTrip(enc, dec, `GET / HTTP/1.1\r\nhost: h\r\n${lines(252)}\r\n`);
    expect(Array.isArray(full) && full.length).toBe(256);
  });

  test('a refused head leaves the dynamic table in step with the peer decoder', () => {
    const enc = new HpackEncoder(testCore());
    const dec = new HpackDecoder(testCore());
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\n\r\n')).not.toBeTypeOf('string');
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\nx-b: 2\r\nbroken\r\n\r\n')).toBe('not_a_header_field');
    expect(roundTrip(enc, dec, 'GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\nx-b: 2\r\n\r\n')).toEqual([
      [':method', 'GET'], [':scheme', 'http'], [':authority', 'h'], [':path', '/'], ['x-a', '1'], ['x-b', '2'],
    ]);
  });

  test('the same fields as the text conversion (h2-request-headers.ts), over random heads and one connection', () => sameAsText.check());
});
