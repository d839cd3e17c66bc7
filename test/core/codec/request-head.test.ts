// Request heads through the public API (the real Wasm parser): valid forms, one test per
// rejection rule (stable code + HTTP status), and the 60 KiB / 100-header limits.
import { describe, test, expect } from 'vitest';
import { parseRequestHead, parseResponseHead } from '../../../host/codec/parse-head.js';
import { bytes } from './codec-helpers.js';

function req(s: string) {
  return parseRequestHead(bytes(s));
}

function rejects(s: string, code: string, httpStatus: number) {
  const r = req(s);
  expect(r).toMatchObject({ status: 'error', code, httpStatus });
  return r;
}

describe('valid request heads', () => {
  test('a simple GET: fields, spans, framing none, keep-alive', () => {
    const s = 'GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n';
    expect(req(s)).toEqual({
      status: 'ok',
      method: 'GET',
      target: '/a/b?c=d',
      version: '1.1',
      headers: [['Host', 'example.com'], ['User-Agent', 't']],
      headLength: s.length,
      framing: 'none',
      keepAlive: true,
    });
  });

  test('header names are reported as sent (case preserved); values OWS-trimmed', () => {
    const r = req('GET / HTTP/1.1\r\nhOsT: a\r\nX-Thing: \t v a l \t \r\nEmpty:\r\nE2:   \r\n\r\n');
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.headers).toEqual([['hOsT', 'a'], ['X-Thing', 'v a l'], ['Empty', ''], ['E2', '']]);
  });

  test('obs-text bytes in values are kept (latin1, one char per byte)', () => {
    const r = req('GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n');
    expect(r.status === 'ok' && r.headers[1][1]).toBe('caf\xe9');
  });

  test('any token method; asterisk, absolute and authority target forms', () => {
    expect(req('M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n')).toMatchObject({ status: 'ok', method: 'M-SEARCH', target: '*' });
    expect(req('GET http://a.b/c?d HTTP/1.1\r\nHost: a.b\r\n\r\n')).toMatchObject({ status: 'ok', target: 'http://a.b/c?d' });
    expect(req('CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n')).toMatchObject({ status: 'ok', method: 'CONNECT', target: 'a.b:443' });
  });

  test('leading empty lines are skipped and counted in headLength', () => {
    const s = '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n';
    expect(req(s)).toMatchObject({ status: 'ok', method: 'GET', headLength: s.length });
  });

  test('a plain Uint8Array view at an offset into a larger buffer: strings come from the view', () => {
    const s = 'GET /p HTTP/1.1\r\nHost: h\r\nX-A: caf\xe9 1\r\n\r\n';
    const big = new Uint8Array(100 + s.length + 50).fill(0x7a);
    big.set(bytes(s), 100);
    const view = big.subarray(100, 100 + s.length);
    expect(parseRequestHead(view)).toMatchObject({ status: 'ok', method: 'GET', target: '/p', headers: [['Host', 'h'], ['X-A', 'caf\xe9 1']], headLength: s.length });
    const r = parseResponseHead(new Uint8Array(bytes('HTTP/1.1 404 Not Here\r\nA: b\r\n\r\n')));
    expect(r).toMatchObject({ status: 'ok', code: 404, reason: 'Not Here', headers: [['A', 'b']] });
  });

  test('bytes after the head are not part of it', () => {
    const head = 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n';
    expect(req(head + 'hello')).toMatchObject({ status: 'ok', headLength: head.length, framing: 'length', contentLength: 5 });
  });

  test('HTTP/1.0: Host optional; keep-alive only when asked', () => {
    expect(req('GET / HTTP/1.0\r\n\r\n')).toMatchObject({ status: 'ok', version: '1.0', keepAlive: false });
    expect(req('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n')).toMatchObject({ status: 'ok', keepAlive: true });
    expect(req('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n')).toMatchObject({ status: 'ok', keepAlive: false });
  });

  test('Connection is a case-insensitive comma list', () => {
    expect(req('GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo ,  CLOSE\r\n\r\n')).toMatchObject({ status: 'ok', keepAlive: false });
    expect(req('GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo\r\nConnection: close\r\n\r\n')).toMatchObject({ keepAlive: false });
    expect(req('GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n')).toMatchObject({ keepAlive: true });
  });

  test('Content-Length: repeated or listed values that agree, leading zeros, 2^53-1', () => {
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n')).toMatchObject({ framing: 'length', contentLength: 5 });
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 ,5,  5\r\n\r\n')).toMatchObject({ framing: 'length', contentLength: 5 });
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n')).toMatchObject({ contentLength: 7 });
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ framing: 'length', contentLength: 0 });
    expect(req(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${Number.MAX_SAFE_INTEGER}\r\n\r\n`)).toMatchObject({ contentLength: Number.MAX_SAFE_INTEGER });
  });

  test('Transfer-Encoding: chunked (any case, split over fields) frames as chunked', () => {
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n')).toMatchObject({ status: 'ok', framing: 'chunked' });
    expect(req('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked, \r\n\r\n')).toMatchObject({ status: 'ok', framing: 'chunked' });
  });
});

describe('rejection rules (one per rule)', () => {
  test('invalid_method: non-tchar byte, empty method', () => {
    rejects('G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_method', 400);
    rejects(' GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_method', 400);
    rejects('GE\x00T / HTTP/1.1\r\n', 'invalid_method', 400);
  });

  test('invalid_request_line: anything but exactly one SP between parts', () => {
    rejects('GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_line', 400);
    rejects('GET /  HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_line', 400);
    rejects('GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_line', 400);
    rejects('GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 'invalid_request_line', 400);
    rejects('GET /\r\n\r\n', 'invalid_request_line', 400);
  });

  test('invalid_request_target: control, DEL or non-ASCII bytes', () => {
    rejects('GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_target', 400);
    rejects('GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_target', 400);
    rejects('GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n', 'invalid_request_target', 400);
  });

  test('invalid_version: not HTTP/DIGIT.DIGIT', () => {
    rejects('GET / HTTP/1.x\r\nHost: a\r\n\r\n', 'invalid_version', 400);
    rejects('GET / http/1.1\r\nHost: a\r\n\r\n', 'invalid_version', 400);
    rejects('GET / HTTP/1.10\r\nHost: a\r\n\r\n', 'invalid_version', 400);
    rejects('GET / HTTP/11\r\nHost: a\r\n\r\n', 'invalid_version', 400);
  });

  test('unsupported_version: well-formed but not 1.0/1.1 → 505', () => {
    rejects('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 'unsupported_version', 505);
    rejects('GET / HTTP/1.2\r\nHost: a\r\n\r\n', 'unsupported_version', 505);
    rejects('GET / HTTP/0.9\r\n\r\n', 'unsupported_version', 505);
  });

  test('bare_cr: a CR not followed by LF, anywhere', () => {
    rejects('GET / HTTP/1.1\rHost: a\r\n\r\n', 'bare_cr', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 'bare_cr', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\n\rx', 'bare_cr', 400);
    rejects('\rGET / HTTP/1.1\r\nHost: a\r\n\r\n', 'bare_cr', 400);
  });

  test('bare_lf: LF-only line endings are rejected', () => {
    rejects('GET / HTTP/1.1\nHost: a\n\n', 'bare_lf', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\n\r\n', 'bare_lf', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\n\n', 'bare_lf', 400);
  });

  test('obs_fold: continuation lines, and whitespace before the first field', () => {
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n', 'obs_fold', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n', 'obs_fold', 400);
    rejects('GET / HTTP/1.1\r\n Host: a\r\n\r\n', 'obs_fold', 400);
  });

  test('invalid_header_name: non-tchar, empty, or no colon', () => {
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n', 'invalid_header_name', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n', 'invalid_header_name', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n', 'invalid_header_name', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX\xe9: b\r\n\r\n', 'invalid_header_name', 400);
  });

  test('space_before_colon: whitespace between name and colon', () => {
    rejects('GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'space_before_colon', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX\t: b\r\n\r\n', 'space_before_colon', 400);
  });

  test('invalid_header_value: NUL, DEL and other control bytes', () => {
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 'invalid_header_value', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n', 'invalid_header_value', 400);
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n', 'invalid_header_value', 400);
  });

  test('missing_host: HTTP/1.1 without Host', () => {
    rejects('GET / HTTP/1.1\r\nX: a\r\n\r\n', 'missing_host', 400);
  });

  test('duplicate_host: two Host fields (any case)', () => {
    rejects('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n', 'duplicate_host', 400);
    rejects('GET / HTTP/1.0\r\nHost: a\r\nHOST: b\r\n\r\n', 'duplicate_host', 400);
  });

  test('invalid_content_length: not digits, empty, signed, trailing comma, > 2^53-1', () => {
    for (const v of ['abc', '', '-1', '+5', '1 2', '5,', ',5', '0x10', '5;', String(2 ** 53), '99999999999999999999999']) {
      rejects(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${v}\r\n\r\n`, 'invalid_content_length', 400);
    }
  });

  test('content_length_mismatch: repeated fields or list members that differ', () => {
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 'content_length_mismatch', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n', 'content_length_mismatch', 400);
  });

  test('te_and_cl: Transfer-Encoding with Content-Length (either order)', () => {
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 'te_and_cl', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 'te_and_cl', 400);
  });

  test('chunked_not_final: the final coding of a request is not chunked', () => {
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 'chunked_not_final', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 'chunked_not_final', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n', 'chunked_not_final', 400);
  });

  test('unsupported_transfer_coding: codings other than chunked → 501', () => {
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'unsupported_transfer_coding', 501);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x;q="a,b", chunked\r\n\r\n', 'unsupported_transfer_coding', 501);
  });

  test('invalid_transfer_encoding: chunked twice, parameters on chunked, junk, empty, HTTP/1.0', () => {
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'invalid_transfer_encoding', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n', 'invalid_transfer_encoding', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked x\r\n\r\n', 'invalid_transfer_encoding', 400);
    rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n', 'invalid_transfer_encoding', 400);
    rejects('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 'invalid_transfer_encoding', 400);
  });

  test('errors say where: offset of the deciding byte, and why', () => {
    const r = rejects('GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', 'invalid_header_value', 400);
    expect(r).toMatchObject({ offset: 'GET / HTTP/1.1\r\nHost: a\r\nX: a'.length });
    expect(r.status === 'error' && r.message.length > 10).toBe(true);
  });
});

describe('limits (Envoy defaults)', () => {
  const LIMIT = 60 * 1024;
  function headOfLength(n: number): string {
    const start = 'GET / HTTP/1.1\r\nHost: a\r\nX: ';
    const end = '\r\n\r\n';
    return start + 'v'.repeat(n - start.length - end.length) + end;
  }

  test('a head of exactly 60 KiB parses; one byte more is 431 headers_too_large', () => {
    expect(headOfLength(LIMIT).length).toBe(LIMIT);
    expect(req(headOfLength(LIMIT))).toMatchObject({ status: 'ok', headLength: LIMIT });
    rejects(headOfLength(LIMIT + 1), 'headers_too_large', 431);
  });

  test('a long request-target inside the head limit is fine (no separate URI limit)', () => {
    const target = '/' + 'a'.repeat(50_000);
    expect(req(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)).toMatchObject({ status: 'ok', target });
  });

  test('an unterminated head is incomplete up to the limit, then 431 at the crossing byte', () => {
    const s = 'GET / HTTP/1.1\r\nHost: a\r\nX: ' + 'v'.repeat(LIMIT);
    expect(req(s.slice(0, LIMIT))).toEqual({ status: 'incomplete' });
    expect(rejects(s.slice(0, LIMIT + 1), 'headers_too_large', 431)).toMatchObject({ offset: LIMIT });
  });

  test('an invalid byte before the limit wins over the size error', () => {
    const s = 'GET / HTTP/1.1\r\nHost: a\r\nX: v\x00' + 'v'.repeat(LIMIT);
    rejects(s, 'invalid_header_value', 400);
  });

  function withHeaders(n: number): string {
    let s = 'GET / HTTP/1.1\r\nHost: a\r\n';
    for (let i = 1; i < n; i++) s += `X-${i}: ${i}\r\n`;
    return s + '\r\n';
  }

  test('100 header fields parse; 101 is 431 too_many_headers', () => {
    const ok = req(withHeaders(100));
    expect(ok.status === 'ok' && ok.headers.length).toBe(100);
    rejects(withHeaders(101), 'too_many_headers', 431);
  });
});
