// Request smuggling and limits through the real listener (issue 10's shapes): a ProxyServer on
// loopback, raw client sockets, and a raw upstream that records the exact bytes it receives.
// For each shape: the status the client gets and what reaches the upstream — nothing of a
// refused message, and never a second request hidden in the first.
import { describe, it, afterAll } from 'vitest';
import { forwarded, chunked, HOST, INTERNAL_HOST } from './wire-harness.js';
import { Rigs, runWireCase, type WireCase } from './wire-case.js';

const H = `Host: ${HOST}\r\n`;
const POST_CHUNKED = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
const POST_CHUNKED_UP = forwarded('POST / HTTP/1.1', [`host: ${HOST}`], 'transfer-encoding: chunked');
/** A complete GET hidden in a body: a parser that mis-frames the body would forward it. */
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
const hex = (s: string): string => s.length.toString(16);

function postLength(value: string, body = 'hello'): string {
  return `POST / HTTP/1.1\r\n${H}Content-Length: ${value}\r\n\r\n${body}`;
}

/** A GET with `n` field lines in all (Host first, then x-f1 … x-f(n-1)). */
function withFields(n: number): { send: string; up: string } {
  const extra = Array.from({ length: n - 1 }, (_, i) => `x-f${i + 1}: v`);
  return {
    send: `GET / HTTP/1.1\r\n${H}${extra.map((f) => `${f}\r\n`).join('')}\r\n`,
    up: forwarded('GET / HTTP/1.1', [`host: ${HOST}`, ...extra]),
  };
}

const refused = (name: string, send: WireCase['send'], status: number, code: string, extra: Partial<WireCase> = {}): WireCase => ({
  name, send, statuses: [status], code, upstream: [], ...extra,
});

const f49 = withFields(49);
const f100 = withFields(100);
const f101 = withFields(101);

export const SHAPES: WireCase[] = [
  // ── Chunked framing ────────────────────────────────────────────────────────────────────
  {
    name: 'chunk extension split across two writes 300 ms apart: one request, the GET stays body',
    send: [`${POST_CHUNKED}${hex(SMUGGLED)};a`, { pause: 300 }, `=b\r\n${SMUGGLED}\r\n0\r\n\r\n`],
    statuses: [200],
    upstream: [POST_CHUNKED_UP + chunked(SMUGGLED)],
  },
  refused('chunk-size line with a leading space " 2b"', `${POST_CHUNKED} ${hex(SMUGGLED)}\r\n${SMUGGLED}\r\n0\r\n\r\n`, 400, 'invalid_chunk_size', { partial: POST_CHUNKED_UP }),
  refused('chunk data longer than its size "5\\r\\nhelloXX\\r\\n"', `${POST_CHUNKED}5\r\nhelloXX\r\n0\r\n\r\n`, 400, 'missing_chunk_crlf', {
    partial: POST_CHUNKED_UP + '5\r\nhello\r\n',
  }),
  refused('chunk size "0x5"', `${POST_CHUNKED}0x5\r\nhello\r\n0\r\n\r\n`, 400, 'invalid_chunk_size', { partial: POST_CHUNKED_UP }),

  // ── Content-Length ─────────────────────────────────────────────────────────────────────
  refused('Content-Length "5, 5"', postLength('5, 5'), 400, 'content_length_repeated'),
  refused('Content-Length "0x5"', postLength('0x5'), 400, 'invalid_content_length'),
  refused('Content-Length "0b101"', postLength('0b101'), 400, 'invalid_content_length'),
  refused('Content-Length "5.0"', postLength('5.0'), 400, 'invalid_content_length'),
  refused('Content-Length "99999999999999999999"', postLength('99999999999999999999'), 400, 'invalid_content_length'),
  refused('two Content-Length fields with differing values', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400, 'content_length_mismatch'),
  refused('Content-Length "5, 6" (differing values in one field)', postLength('5, 6', 'hello!'), 400, 'content_length_mismatch'),
  refused('two equal Content-Length fields (refused, as Envoy)', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400, 'content_length_repeated'),
  {
    name: 'Content-Length body followed by a pipelined GET: two requests, each once',
    send: postLength('5') + `GET /next HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    upstream: [forwarded('POST / HTTP/1.1', [`host: ${HOST}`], 'content-length: 5', 'hello'), forwarded('GET /next HTTP/1.1', [`host: ${HOST}`])],
  },

  // ── Versions and Host ──────────────────────────────────────────────────────────────────
  refused('HTTP/1.0 without Host', 'GET / HTTP/1.0\r\n\r\n', 400, 'missing_host'),
  {
    name: 'HTTP/1.0 with Host: forwarded as HTTP/1.1, then the connection closes',
    send: `GET / HTTP/1.0\r\n${H}\r\n`,
    statuses: [200],
    closes: true,
    upstream: [forwarded('GET / HTTP/1.1', [`host: ${HOST}`])],
  },
  refused('HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400, 'missing_host'),
  refused('duplicate Host: the second one (internal.example.com) reaches no route', `GET / HTTP/1.1\r\n${H}Host: ${INTERNAL_HOST}\r\n\r\n`, 400, 'duplicate_host'),
  refused('duplicate Host in another case', `GET / HTTP/1.1\r\n${H}host: ${INTERNAL_HOST}\r\n\r\n`, 400, 'duplicate_host'),
  refused('empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', 400, 'missing_host'),
  refused('Host "a b"', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'invalid_host'),
  refused('Host with a path "svc.test/x"', `GET / HTTP/1.1\r\nHost: ${HOST}/x\r\n\r\n`, 400, 'invalid_host'),
  refused('Host with userinfo "a@internal.example.com"', `GET / HTTP/1.1\r\nHost: a@${INTERNAL_HOST}\r\n\r\n`, 400, 'invalid_host'),

  // ── Field names and values ─────────────────────────────────────────────────────────────
  {
    name: 'underscore in a field name: forwarded by default (ALLOW)',
    send: `GET / HTTP/1.1\r\n${H}x_a: 1\r\n\r\n`,
    statuses: [200],
    upstream: [forwarded('GET / HTTP/1.1', [`host: ${HOST}`, 'x_a: 1'])],
  },
  refused('underscore in a field name with headersWithUnderscoresAction REJECT_REQUEST', `GET / HTTP/1.1\r\n${H}x_a: 1\r\n\r\n`, 400, 'header_name_with_underscores', {
    rig: 'reject-underscores',
  }),
  {
    name: 'underscore in a field name with headersWithUnderscoresAction DROP_HEADER: the field is dropped',
    send: `GET / HTTP/1.1\r\n${H}x_a: 1\r\nx-b: 2\r\n\r\n`,
    statuses: [200],
    upstream: [forwarded('GET / HTTP/1.1', [`host: ${HOST}`, 'x-b: 2'])],
    rig: 'drop-underscores',
  },
  { name: '49 field lines: served', send: f49.send, statuses: [200], upstream: [f49.up] },
  { name: '100 field lines: served', send: f100.send, statuses: [200], upstream: [f100.up] },
  refused('101 field lines: 431', f101.send, 431, 'too_many_headers'),
  refused('a 130 KiB head: 431', `GET / HTTP/1.1\r\n${H}x-big: ${'a'.repeat(130 * 1024)}\r\n\r\n`, 431, 'headers_too_large'),
  refused('folded field (obs-fold)', `GET / HTTP/1.1\r\n${H}X-A: 1\r\n b\r\n\r\n`, 400, 'obs_fold'),
  // The first line's value is empty, which the core refuses before it sees the fold.
  refused('folded Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`, 400, 'invalid_transfer_encoding'),
  refused('bare LF line endings', `GET / HTTP/1.1\n${H.replace('\r\n', '\n')}\n`, 400, 'bare_lf'),
  refused('bare LF ending one field line', `GET / HTTP/1.1\r\n${H}X-A: 1\nContent-Length: 5\r\n\r\nhello`, 400, 'bare_lf'),
  refused('CR in a field value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, 400, 'bare_cr'),
  refused('NUL in a field value', `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, 400, 'invalid_header_value'),
  refused('space in a field name', `GET / HTTP/1.1\r\n${H}X A: 1\r\n\r\n`, 400, 'space_before_colon'),
  refused('"Transfer-Encoding : chunked"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400, 'space_before_colon'),
  {
    name: 'byte 0xFF in a field value: passed through byte for byte',
    send: `GET / HTTP/1.1\r\n${H}X-A: a\xffb\x80\r\n\r\n`,
    statuses: [200],
    upstream: [forwarded('GET / HTTP/1.1', [`host: ${HOST}`, 'x-a: a\xffb\x80'])],
  },
  {
    name: '"Connection: close, x-secret": x-secret is removed and the connection closes after the response',
    send: `GET / HTTP/1.1\r\n${H}Connection: close, x-secret\r\nX-Secret: s\r\nx-kept: k\r\n\r\n`,
    statuses: [200],
    closes: true,
    upstream: [forwarded('GET / HTTP/1.1', [`host: ${HOST}`, 'x-kept: k'])],
  },

  // ── Request targets ────────────────────────────────────────────────────────────────────
  refused('target "z"', `GET z HTTP/1.1\r\n${H}\r\n`, 400, 'invalid_request_target_form'),
  {
    name: 'absolute-form: its authority replaces Host (RFC 9112 §3.2.2)',
    send: `GET http://${HOST}/abs?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n`,
    statuses: [200],
    upstream: [forwarded('GET /abs?q=1 HTTP/1.1', [`host: ${HOST}`])],
  },
  {
    name: 'absolute-form naming internal.example.com is routed there, and Host says the same upstream',
    send: `GET http://${INTERNAL_HOST}/x HTTP/1.1\r\n${H}\r\n`,
    statuses: [200],
    upstream: [],
    internal: [forwarded('GET /x HTTP/1.1', [`host: ${INTERNAL_HOST}`])],
  },
  refused('absolute-form with another scheme', `GET ftp://${HOST}/x HTTP/1.1\r\n${H}\r\n`, 400, 'invalid_request_target_form'),
  refused('target "*"', `OPTIONS * HTTP/1.1\r\n${H}\r\n`, 400, 'asterisk_form_not_served'),
  refused('CONNECT', `CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`, 404, 'connect_not_served'),

  // ── Transfer-Encoding ──────────────────────────────────────────────────────────────────
  refused('"Transfer-Encoding: chunked, identity"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, 400, 'chunked_not_final'),
  refused('"Transfer-Encoding: identity, chunked"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`, 501, 'unsupported_transfer_coding'),
  refused('"Transfer-Encoding: gzip"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n`, 400, 'chunked_not_final'),
  refused('"Transfer-Encoding: xchunked"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400, 'chunked_not_final'),
];

const rigs = new Rigs();
afterAll(() => rigs.close());

describe('HTTP/1.1 listener: smuggling shapes of issue 10', () => {
  for (const c of SHAPES) it(c.name, () => runWireCase(rigs, c));
});
