// Response heads through the public API: status-line forms, framing per RFC 9112 §6.3
// (HEAD, 1xx/204/304, length, chunked, close) and response-side rejections.
import { describe, test, expect } from 'vitest';
import { parseResponseHead } from '../../../host/codec/parse-head.js';
import { bytes } from './codec-helpers.js';

function res(s: string, requestWasHead = false) {
  return parseResponseHead(bytes(s), { requestWasHead });
}

describe('valid response heads', () => {
  test('200 with Content-Length', () => {
    const s = 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\n';
    expect(res(s + 'hello world!')).toEqual({
      status: 'ok',
      code: 200,
      reason: 'OK',
      version: '1.1',
      headers: [['Content-Length', '12'], ['X-A', 'b']],
      headLength: s.length,
      framing: 'length',
      contentLength: 12,
      keepAlive: true,
    });
  });

  test('chunked; and no CL/TE means read until close (not reusable)', () => {
    expect(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')).toMatchObject({ framing: 'chunked', keepAlive: true });
    expect(res('HTTP/1.1 200 OK\r\nX: y\r\n\r\n')).toMatchObject({ framing: 'close', keepAlive: false });
  });

  test('1xx, 204, 304 and responses to HEAD have no body whatever the fields say', () => {
    expect(res('HTTP/1.1 100 Continue\r\n\r\n')).toMatchObject({ code: 100, framing: 'none' });
    expect(res('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ framing: 'none', keepAlive: true });
    expect(res('HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n')).toMatchObject({ framing: 'none', contentLength: 99 });
    expect(res('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', true)).toMatchObject({ framing: 'none', contentLength: 99 });
    expect(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true)).toMatchObject({ framing: 'none' });
  });

  test('reason-phrase: spaces, obs-text, empty with SP, and missing SP tolerated', () => {
    expect(res('HTTP/1.1 404 Not  Found here\r\n\r\n')).toMatchObject({ code: 404, reason: 'Not  Found here' });
    expect(res('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n')).toMatchObject({ status: 'ok', reason: '' });
    expect(res('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ status: 'ok', reason: '' });
    expect(res('HTTP/1.1 599 \xe9t\xe9\r\n\r\n')).toMatchObject({ code: 599, reason: '\xe9t\xe9' });
  });

  test('HTTP/1.0 responses: reusable only with keep-alive and a length', () => {
    expect(res('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n')).toMatchObject({ version: '1.0', keepAlive: false });
    expect(res('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n')).toMatchObject({ keepAlive: true });
    expect(res('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n')).toMatchObject({ keepAlive: false });
  });

  test('Host is not special in responses', () => {
    expect(res('HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ status: 'ok' });
  });
});

describe('response rejections', () => {
  function rejects(s: string, code: string) {
    expect(res(s)).toMatchObject({ status: 'error', code });
  }

  test('invalid_status_line', () => {
    rejects('HTTP/1.1 20 OK\r\n\r\n', 'invalid_status_line');
    rejects('HTTP/1.1 099 Odd\r\n\r\n', 'invalid_status_line');
    rejects('HTTP/1.1  200 OK\r\n\r\n', 'invalid_status_line');
    rejects('HTTP/1.1 200OK\r\n\r\n', 'invalid_status_line');
    rejects('HTTP/1.1 2000 OK\r\n\r\n', 'invalid_status_line');
    rejects('HTTP/1.1 200 O\x00K\r\n\r\n', 'invalid_status_line');
  });

  test('versions: malformed vs unsupported', () => {
    rejects('HTTP/2 200 OK\r\n\r\n', 'invalid_version');
    rejects('\r\nHTTP/1.1 200 OK\r\n\r\n', 'invalid_version');
    expect(res('HTTP/2.0 200 OK\r\n\r\n')).toMatchObject({ status: 'error', code: 'unsupported_version', httpStatus: 505 });
  });

  test('framing conflicts and codings', () => {
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 'te_and_cl');
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'unsupported_transfer_coding');
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'unsupported_transfer_coding');
    rejects('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'content_length_mismatch');
    rejects('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'invalid_transfer_encoding');
  });

  test('field-line rules are shared with requests', () => {
    rejects('HTTP/1.1 200 OK\r\nX : y\r\n\r\n', 'space_before_colon');
    rejects('HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n', 'obs_fold');
    rejects('HTTP/1.1 200 OK\nX: y\r\n\r\n', 'bare_lf');
  });
});
