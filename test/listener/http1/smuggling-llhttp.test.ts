// The request cases of llhttp's test corpus (nodejs/llhttp test/request/*.md, strict mode), each
// rewritten as a table entry and sent through the real listener: the status the client gets and
// the exact bytes the upstream receives. `reference` is llhttp's strict verdict; where the proxy
// answers otherwise, `divergence` says why. Cases without Host get `Host: svc.test` (the proxy
// routes on it and refuses HTTP/1.1 without one, RFC 9112 §3.2) unless Host is their subject.
// Left out: the lenient-mode files and cases (the proxy has no lenient mode), and pausing.md
// (a parser API).
import { describe, it, afterAll } from 'vitest';
import { forwarded, chunked, HOST } from './wire-harness.js';
import { Rigs, runWireCase, type WireCase } from './wire-case.js';

const H = `Host: ${HOST}\r\n`;
const h = `host: ${HOST}`;
const FWD_CHUNKED = 'transfer-encoding: chunked';

/** A refusal whose head never reaches the upstream. */
const refuses = (name: string, send: string, status: number, code: string, extra: Partial<WireCase> = {}): WireCase => ({
  name, send, statuses: [status], code, upstream: [], reference: 'refuses', ...extra,
});

const contentLength: WireCase[] = [
  {
    name: 'Content-Length with zeroes "003"',
    send: `PUT /url HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h], 'content-length: 3', 'abc')], reference: 'accepts',
  },
  {
    name: 'Content-Length "003" with follow-up fields',
    send: `PUT /url HTTP/1.1\r\n${H}Content-Length: 003\r\nOhai: world\r\n\r\nabc`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h, 'ohai: world'], 'content-length: 3', 'abc')], reference: 'accepts',
  },
  refuses('Content-Length overflow', `PUT /url HTTP/1.1\r\n${H}Content-Length: 1000000000000000000000\r\n\r\n`, 400, 'invalid_content_length'),
  refuses('duplicate Content-Length 1 and 2', `PUT /url HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, 400, 'content_length_mismatch'),
  refuses('Content-Length with Transfer-Encoding: identity', `PUT /url HTTP/1.1\r\n${H}Content-Length: 1\r\nTransfer-Encoding: identity\r\n\r\na`, 400, 'te_and_cl'),
  refuses('"Content-Length : 4" (whitespace before the colon) with Upgrade', `PUT /url HTTP/1.1\r\n${H}Connection: upgrade\r\nContent-Length : 4\r\nUpgrade: ws\r\n\r\nabcdefgh`, 400, 'space_before_colon'),
  {
    name: 'funky "conTENT-Length" on an HTTP/1.0 GET with a body',
    send: `GET /get_funky_content_length_body_hello HTTP/1.0\r\n${H}conTENT-Length: 5\r\n\r\nHELLO`,
    statuses: [200], closes: true,
    upstream: [forwarded('GET /get_funky_content_length_body_hello HTTP/1.1', [h], 'content-length: 5', 'HELLO')], reference: 'accepts',
  },
  {
    name: 'spaces around the Content-Length value',
    send: `POST / HTTP/1.1\r\n${H}Content-Length:  42 \r\n\r\n${'x'.repeat(42)}`,
    statuses: [200], upstream: [forwarded('POST / HTTP/1.1', [h], 'content-length: 42', 'x'.repeat(42))], reference: 'accepts',
  },
  {
    name: 'tabs around the Content-Length value',
    send: `POST / HTTP/1.1\r\n${H}Content-Length:\t42\t  \r\n\r\n${'x'.repeat(42)}`,
    statuses: [200], upstream: [forwarded('POST / HTTP/1.1', [h], 'content-length: 42', 'x'.repeat(42))], reference: 'accepts',
  },
  refuses('space inside the Content-Length value "4 2"', `POST / HTTP/1.1\r\n${H}Content-Length: 4 2\r\n\r\n`, 400, 'invalid_content_length'),
  refuses('space inside the Content-Length value "13 37"', `POST / HTTP/1.1\r\n${H}Content-Length: 13 37\r\n\r\n`, 400, 'invalid_content_length'),
  refuses('empty Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, 400, 'invalid_content_length'),
  refuses('CR instead of a dash "Content\\rLength"', `PUT /url HTTP/1.1\r\n${H}Content\rLength: 003\r\n\r\nabc`, 400, 'invalid_header_name'),
  refuses('missing CRLF-CRLF before the body', `PUT /url HTTP/1.1\r\n${H}Content-Length: 3\r\n\rabc`, 400, 'bare_cr'),
];

const transferEncoding: WireCase[] = [
  {
    name: 'chunk size in lower-case hex',
    send: `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h], FWD_CHUNKED, chunked('0123456789'))], reference: 'accepts',
  },
  {
    name: 'chunk size in upper-case hex',
    send: `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h], FWD_CHUNKED, chunked('0123456789'))], reference: 'accepts',
  },
  {
    name: 'POST with Transfer-Encoding: chunked',
    send: `POST /post_chunked_all_your_base HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1e\r\nall your base are belong to us\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /post_chunked_all_your_base HTTP/1.1', [h], FWD_CHUNKED, chunked('all your base are belong to us'))], reference: 'accepts',
  },
  {
    name: 'two chunks and a last-chunk "000"',
    send: `POST /two_chunks_mult_zero_end HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /two_chunks_mult_zero_end HTTP/1.1', [h], FWD_CHUNKED, chunked('hello', ' world'))], reference: 'accepts',
  },
  {
    name: 'trailer fields after the last chunk (not forwarded, as Envoy)',
    send: `POST /chunked_w_trailing_headers HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /chunked_w_trailing_headers HTTP/1.1', [h], FWD_CHUNKED, chunked('hello', ' world'))], reference: 'accepts',
  },
  {
    name: 'chunk extensions (dropped when re-framed)',
    send: `POST /chunked_w_unicorns_after_length HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /chunked_w_unicorns_after_length HTTP/1.1', [h], FWD_CHUNKED, chunked('hello', ' world'))], reference: 'accepts',
  },
  refuses('no semicolon before a chunk extension "2 erfrferferf"', `POST /chunked_w_unicorns_after_length HTTP/1.1\r\n${H}Transfer-encoding: chunked\r\n\r\n2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n`, 400, 'invalid_chunk_size', {
    partial: forwarded('POST /chunked_w_unicorns_after_length HTTP/1.1', [h], FWD_CHUNKED),
  }),
  {
    name: 'no extension after the semicolon "2;"',
    send: `POST /chunked_w_unicorns_after_length HTTP/1.1\r\n${H}Transfer-encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /chunked_w_unicorns_after_length HTTP/1.1', [h], FWD_CHUNKED, chunked('aa'))], reference: 'refuses',
    divergence: 'the core checks only that an extension holds no control byte (no line can end inside one), not its syntax; extensions are dropped when the body is re-framed, so the upstream never parses them',
  },
  {
    name: 'quoted chunk extension values with escapes and a quoted semicolon',
    send: `POST /chunked_w_unicorns_after_length HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;ilovew3="I \\"love\\"; \\\\extensions\\\\";somuchlove="aretheseparametersfor";blah;foo=bar\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /chunked_w_unicorns_after_length HTTP/1.1', [h], FWD_CHUNKED, chunked('hello', ' world'))], reference: 'accepts',
  },
  {
    name: 'unbalanced quote in a chunk extension',
    send: `POST /chunked_w_unicorns_after_length HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;ilovew3="abc";somuchlove="def; ghi\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n`,
    statuses: [200], upstream: [forwarded('POST /chunked_w_unicorns_after_length HTTP/1.1', [h], FWD_CHUNKED, chunked('hello', ' world'))], reference: 'refuses',
    divergence: 'the core checks only that an extension holds no control byte (no line can end inside one), not its syntax; extensions are dropped when the body is re-framed, so the upstream never parses them',
  },
  refuses('Transfer-Encoding: pigeons', `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: pigeons\r\n\r\n`, 400, 'chunked_not_final'),
  refuses('Transfer-Encoding: identity with Content-Length', `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorld`, 400, 'te_and_cl'),
  refuses('three empty Transfer-Encoding fields with Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0\r\n`, 400, 'invalid_transfer_encoding'),
  refuses('"chunked, deflate"', `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld`, 400, 'chunked_not_final'),
  refuses('chunked then deflate in two fields', `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n\r\nWorld`, 400, 'chunked_not_final'),
  {
    name: '"deflate, chunked" (chunked last)',
    send: `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: deflate, chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n`,
    statuses: [501], code: 'unsupported_transfer_coding', upstream: [], reference: 'accepts',
    divergence: 'the proxy decodes no coding but chunked, so it cannot frame or forward the body (Envoy answers 501 too)',
  },
  {
    name: 'deflate then chunked in two fields',
    send: `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n`,
    statuses: [501], code: 'unsupported_transfer_coding', upstream: [], reference: 'accepts',
    divergence: 'the proxy decodes no coding but chunked, so it cannot frame or forward the body (Envoy answers 501 too)',
  },
  refuses('"chunkedchunked"', `POST /post_identity_body_world?q=search#hey HTTP/1.1\r\n${H}Accept: */*\r\nTransfer-Encoding: chunkedchunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n`, 400, 'chunked_not_final'),
  refuses('missing last-chunk (an empty line where a size belongs)', `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n`, 400, 'invalid_chunk_size', {
    partial: forwarded('PUT /url HTTP/1.1', [h], FWD_CHUNKED, '3\r\nfoo\r\n'),
  }),
  refuses('chunk size followed by space and bare LF "3 \\n"', `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 \n  \r\nfoo\r\n\r\n`, 400, 'invalid_chunk_size', {
    partial: forwarded('PUT /url HTTP/1.1', [h], FWD_CHUNKED),
  }),
  // Host "a" replaced by svc.test here and below, so that the body reaches the upstream side.
  refuses('chunk-size line ended by CR CR, a GET after', `GET / HTTP/1.1\r\n${H}Connection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\n${H}Content-Length: 5\r\n\r\n0\r\n\r\n`, 400, 'bare_cr', {
    partial: forwarded('GET / HTTP/1.1', [h], FWD_CHUNKED),
  }),
  refuses('chunk data not followed by CRLF', `GET / HTTP/1.1\r\n${H}Connection: close \r\nTransfer-Encoding: chunked \r\n\r\n5\r\nABCDE0\r\n\r\n`, 400, 'missing_chunk_crlf', {
    partial: forwarded('GET / HTTP/1.1', [h], FWD_CHUNKED, '5\r\nABCDE\r\n'),
  }),
  refuses('space after the chunk size "a "', `PUT /url HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\na \r\n0123456789\r\n0\r\n\r\n`, 400, 'invalid_chunk_size', {
    partial: forwarded('PUT /url HTTP/1.1', [h], FWD_CHUNKED),
  }),
];

const invalid: WireCase[] = [
  refuses('ICE/1.0 protocol with GET', `GET /music/sweet/music ICE/1.0\r\nHost: example.com\r\n\r\n`, 400, 'invalid_version'),
  refuses('IHTTP/1.0', `GET /music/sweet/music IHTTP/1.0\r\nHost: example.com\r\n\r\n`, 400, 'invalid_version'),
  refuses('RTSP/1.0 with PUT', `PUT /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n`, 400, 'invalid_version'),
  {
    name: 'ANNOUNCE over HTTP/1.0',
    send: `ANNOUNCE /music/sweet/music HTTP/1.0\r\n${H}\r\n`,
    statuses: [200], closes: true, upstream: [forwarded('ANNOUNCE /music/sweet/music HTTP/1.1', [h])], reference: 'refuses',
    divergence: 'any token is a method (RFC 9110 §9.1); llhttp knows a fixed list. Framing does not depend on the method, so nothing is smuggled',
  },
  refuses('fields separated by CR alone', `GET / HTTP/1.1\r\n${H}Foo: 1\rBar: 2\r\n\r\n`, 400, 'bare_cr'),
  refuses('fields separated by LF alone, hiding Transfer-Encoding', `POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n`, 400, 'bare_lf'),
  refuses('CR then junk before a smuggled request line', `GET / HTTP/1.1\r\nConnection: close\r\n${H}\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n`, 400, 'bare_cr'),
  refuses('empty field ended by CR alone, hiding Transfer-Encoding', `POST / HTTP/1.1\r\nConnection: Close\r\n${H}x:\rTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n`, 400, 'bare_cr'),
  refuses('empty field ended by LF alone, hiding Transfer-Encoding', `POST / HTTP/1.1\r\n${H}x:\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n`, 400, 'bare_lf'),
  refuses('field name "Fo@"', `GET / HTTP/1.1\r\n${H}Fo@: Failure\r\n\r\n`, 400, 'invalid_header_name'),
  refuses('field name with control bytes "Foo\\x01\\test"', `GET / HTTP/1.1\r\n${H}Foo\x01\test: Bar\r\n\r\n`, 400, 'invalid_header_name'),
  refuses('empty field name ": Bar"', `GET / HTTP/1.1\r\n${H}: Bar\r\n\r\n`, 400, 'invalid_header_name'),
  {
    name: 'method "MKCOLA"',
    send: `MKCOLA / HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('MKCOLA / HTTP/1.1', [h])], reference: 'refuses',
    divergence: 'any token is a method (RFC 9110 §9.1); llhttp knows a fixed list. Framing does not depend on the method, so nothing is smuggled',
  },
  refuses('field name folded onto the next line "name\\r\\n : value"', `GET / HTTP/1.1\r\n${H}name\r\n : value\r\n\r\n`, 400, 'invalid_header_name'),
  refuses('corrupted Connection field (CR ESC in the name)', `GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection\r\x1b\x35\xd5eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n`, 400, 'invalid_header_name'),
  refuses('corrupted field name (CR ESC in the name)', `GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Some-Header\r\x1b\x35\xd5eep-Alive\r\nAccept-Encoding: gzip\r\n\r\n`, 400, 'invalid_header_name'),
  refuses('LF alone between fields, hiding Content-Length and a GET /admin', `GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n`, 400, 'bare_lf'),
  refuses('HTTP/5.6', `GET / HTTP/5.6\r\n${H}\r\n`, 505, 'unsupported_version'),
  refuses('space after the request line " Host: foo"', `GET / HTTP/1.1\r\n Host: foo\r\n\r\n`, 400, 'obs_fold'),
  refuses('only LF line endings, chunked body with extensions and trailer', `POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\nFoo: abc\nBar: def\n\n1\nA\n1;abc\nB\n1;def=ghi\nC\n1;jkl="mno"\nD\n0\n\nBaz: ghi\n\n`, 400, 'bare_lf'),
  refuses('space before a field line hiding Content-Length and a GET /bye', `POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 38\r\n\r\nGET /bye HTTP/1.1\r\nHost: localhost\r\n\r\n`, 400, 'obs_fold'),
];

const connection: WireCase[] = [
  {
    name: 'Connection: keep-alive',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\n`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'two requests with Connection: keep-alive',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\nPUT /url HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\n`,
    statuses: [200, 200], upstream: [forwarded('PUT /url HTTP/1.1', [h]), forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts', messages: 2,
  },
  {
    name: 'HTTP/1.0 then HTTP/1.1: the second is never read (no keep-alive on 1.0)',
    send: `PUT /url HTTP/1.0\r\n${H}\r\nPUT /url HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], closes: true, upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'refuses', messages: 2,
  },
  {
    name: 'CRLF between requests, implicit keep-alive (Host www.example.com replaced by svc.test)',
    send: `POST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    upstream: [forwarded('POST / HTTP/1.1', [h, 'content-type: application/x-www-form-urlencoded'], 'content-length: 4', 'q=42'), forwarded('GET / HTTP/1.1', [h])],
    reference: 'accepts', messages: 2,
  },
  {
    name: 'CRLF between requests, the first routed nowhere: answered before its body is read, so the connection closes',
    send: `POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    statuses: [404], closes: true, upstream: [], reference: 'accepts', messages: 2,
    divergence: 'the 404 is written before the request body is read, and an unread body cannot be skipped safely: the connection closes after it (as Envoy)',
  },
  refuses('CR inside the Connection value "keep\\ralive"', `PUT /url HTTP/1.1\r\n${H}Connection: keep\ralive\r\n\r\n`, 400, 'bare_cr'),
  {
    name: 'Connection: close',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    statuses: [200], closes: true, upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'Connection: close followed by a tab',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: close\t\r\n\r\n`,
    statuses: [200], closes: true, upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'data after Connection: close is never read',
    send: `POST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], closes: true,
    upstream: [forwarded('POST / HTTP/1.1', [h, 'content-type: application/x-www-form-urlencoded'], 'content-length: 4', 'q=42')], reference: 'refuses', messages: 2,
  },
  {
    name: 'data after "Connection: close\\t" is never read',
    send: `POST / HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\t\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], closes: true,
    upstream: [forwarded('POST / HTTP/1.1', [h, 'content-type: application/x-www-form-urlencoded'], 'content-length: 4', 'q=42')], reference: 'refuses', messages: 2,
  },
  {
    name: 'Connection with several tokens, close among them: the named fields go, the connection closes',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: close, token, upgrade, token, keep-alive\r\nToken: t\r\n\r\n`,
    statuses: [200], closes: true, upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'Connection: keep-alive, upgrade with Upgrade: WebSocket and bytes after the head',
    send: `GET /demo HTTP/1.1\r\n${H}Connection: keep-alive, upgrade\r\nUpgrade: WebSocket\r\n\r\nHot diggity dogg`,
    statuses: [200], upstream: [forwarded('GET /demo HTTP/1.1', [h], 'upgrade: WebSocket\r\nconnection: upgrade')], reference: 'accepts',
    // A WebSocket upgrade (Istio's upgrade_configs: websocket): Upgrade and `Connection:
    // upgrade` go upstream (keep-alive does not), and the upstream's 200 refuses it, so the
    // request is served as plain HTTP and the bytes after it are the next request's start,
    // which never completes (docs/websocket.md).
  },
  refuses('"Connection : upgrade" (whitespace before the colon)', `PUT /url HTTP/1.1\r\n${H}Connection : upgrade\r\nContent-Length: 4\r\nUpgrade: ws\r\n\r\nabcdefgh`, 400, 'space_before_colon'),
  {
    name: 'Connection: upgrade with Upgrade: ws',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: upgrade\r\nUpgrade: ws\r\n\r\n`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'Upgrade with a Content-Length body and bytes after it',
    send: `PUT /url HTTP/1.1\r\n${H}Connection: upgrade\r\nContent-Length: 4\r\nUpgrade: ws\r\n\r\nabcdefgh`,
    statuses: [200], upstream: [forwarded('PUT /url HTTP/1.1', [h], 'content-length: 4', 'abcd')], reference: 'accepts',
  },
  {
    name: 'WebSocket (hixie-76) upgrade GET with a key body after the head',
    send: `GET /demo HTTP/1.1\r\n${H}Connection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\nHot diggity dogg`,
    statuses: [200],
    // A WebSocket upgrade: Upgrade and `Connection: upgrade` go upstream; its 200 refuses it.
    upstream: [forwarded('GET /demo HTTP/1.1', [h, 'sec-websocket-key2: 12998 5 Y3 1  .P00', 'sec-websocket-protocol: sample', 'sec-websocket-key1: 4 @1  46546xW%0l 1 5', 'origin: http://example.com'], 'upgrade: WebSocket\r\nconnection: upgrade')],
    reference: 'accepts',
  },
  {
    name: 'Upgrade: HTTP/2.0 on a POST with a body and bytes after it',
    send: `POST /demo HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: HTTP/2.0\r\nContent-Length: 15\r\n\r\nsweet post bodyHot diggity dogg`,
    statuses: [200], upstream: [forwarded('POST /demo HTTP/1.1', [h], 'content-length: 15', 'sweet post body')], reference: 'accepts',
  },
];

const sample: WireCase[] = [
  {
    name: 'OPTIONS with a tab and a space before a value',
    send: `OPTIONS /url HTTP/1.1\r\n${H}Header1: Value1\r\nHeader2:\t Value2\r\n\r\n`,
    statuses: [200], upstream: [forwarded('OPTIONS /url HTTP/1.1', [h, 'header1: Value1', 'header2: Value2'])], reference: 'accepts',
  },
  {
    name: 'HEAD',
    send: `HEAD /url HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('HEAD /url HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'curl GET with Host "0.0.0.0=5000" (valid, routed nowhere)',
    send: 'GET /test HTTP/1.1\r\nUser-Agent: curl/7.18.0 (i486-pc-linux-gnu) libcurl/7.18.0 OpenSSL/0.9.8g zlib/1.2.3.3 libidn/1.1\r\nHost: 0.0.0.0=5000\r\nAccept: */*\r\n\r\n',
    statuses: [404], closes: false, upstream: [], reference: 'accepts',
  },
  {
    name: 'Firefox GET',
    send: `GET /favicon.ico HTTP/1.1\r\n${H}User-Agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-us,en;q=0.5\r\nAccept-Encoding: gzip,deflate\r\nAccept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n\r\n`,
    statuses: [200],
    upstream: [forwarded('GET /favicon.ico HTTP/1.1', [h, 'user-agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0', 'accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'accept-language: en-us,en;q=0.5', 'accept-encoding: gzip,deflate', 'accept-charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7'])],
    reference: 'accepts',
  },
  {
    name: 'DUMBPACK "aaaaaaaaaaaaa:++++++++++"',
    send: `GET /dumbpack HTTP/1.1\r\n${H}aaaaaaaaaaaaa:++++++++++\r\n\r\n`,
    statuses: [200], upstream: [forwarded('GET /dumbpack HTTP/1.1', [h, 'aaaaaaaaaaaaa: ++++++++++'])], reference: 'accepts',
  },
  {
    name: 'HTTP/1.1 with no fields at all',
    send: 'GET /get_no_headers_no_body/world HTTP/1.1\r\n\r\n',
    statuses: [400], code: 'missing_host', upstream: [], reference: 'accepts',
    divergence: 'an HTTP/1.1 request without Host must be answered 400 (RFC 9112 §3.2)',
  },
  {
    name: 'HTTP/1.1 with one field and no Host',
    send: 'GET /get_one_header_no_body HTTP/1.1\r\nAccept: */*\r\n\r\n',
    statuses: [400], code: 'missing_host', upstream: [], reference: 'accepts',
    divergence: 'an HTTP/1.1 request without Host must be answered 400 (RFC 9112 §3.2)',
  },
  {
    name: 'Apache bench HTTP/1.0 GET with Host "0.0.0.0:5000" (valid, routed nowhere)',
    send: 'GET /test HTTP/1.0\r\nHost: 0.0.0.0:5000\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n',
    statuses: [404], closes: true, upstream: [], reference: 'accepts',
  },
  {
    name: 'an empty line before the request line (ignored, RFC 9112 §2.2)',
    send: `\r\nGET /test HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET /test HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'no HTTP version (HTTP/0.9)',
    send: 'GET /\r\n\r\n',
    statuses: [400], code: 'invalid_request_line', upstream: [], reference: 'accepts',
    divergence: 'HTTP/0.9 is not served (no fields, no Host to route on)',
  },
  refuses('line folding with LF alone', `GET / HTTP/1.1\r\n${H}Line1:   abc\n\tdef\n ghi\n\t\tjkl\n  mno \n\t \tqrs\nLine2: \t line2\t\nLine3:\n line3\nLine4: \n \nConnection:\n close\n\n`, 400, 'bare_lf'),
  refuses('no LF after the CR of the request line', `GET / HTTP/1.1\rLine: 1\r\n${H}\r\n`, 400, 'bare_cr'),
  {
    name: 'request starting with CRLF, then one field',
    send: `\r\nGET /url HTTP/1.1\r\n${H}Header1: Value1\r\n\r\n`,
    statuses: [200], upstream: [forwarded('GET /url HTTP/1.1', [h, 'header1: Value1'])], reference: 'accepts',
  },
  {
    name: 'UTF-8 in a field value "Düsseldorf": passed through byte for byte',
    send: Buffer.concat([Buffer.from(`GET / HTTP/1.1\r\n${H}Test: `), Buffer.from('Düsseldorf', 'utf8'), Buffer.from('\r\n\r\n')]).toString('latin1'),
    statuses: [200], upstream: [forwarded('GET / HTTP/1.1', [h, `test: ${Buffer.from('Düsseldorf', 'utf8').toString('latin1')}`])], reference: 'accepts',
  },
  {
    name: 'byte 255 in a field value',
    send: `OPTIONS /url HTTP/1.1\r\n${H}Header1: Value1\r\nHeader2: \xffValue2\r\n\r\n`,
    statuses: [200], upstream: [forwarded('OPTIONS /url HTTP/1.1', [h, 'header1: Value1', 'header2: \xffValue2'])], reference: 'accepts',
  },
];

const uri: WireCase[] = [
  {
    name: 'quotes and backslashes in the target',
    send: `GET /with_"lovely"_quotes?foo=\\"bar\\" HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET /with_"lovely"_quotes?foo=\\"bar\\" HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'query with a second question mark',
    send: `GET /test.cgi?foo=bar?baz HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET /test.cgi?foo=bar?baz HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'absolute-form whose host ends at a query (routed nowhere)',
    send: `GET http://hypnotoad.org?hail=all HTTP/1.1\r\n${H}\r\n`,
    statuses: [404], closes: false, upstream: [], reference: 'accepts',
  },
  {
    name: 'absolute-form whose host:port ends at a query (routed nowhere)',
    send: `GET http://hypnotoad.org:1234?hail=all HTTP/1.1\r\n${H}\r\n`,
    statuses: [404], closes: false, upstream: [], reference: 'accepts',
  },
  {
    name: 'query with a vertical bar',
    send: `GET /test.cgi?query=| HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET /test.cgi?query=| HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'absolute-form host:port and nothing after (routed nowhere)',
    send: `GET http://hypnotoad.org:1234 HTTP/1.1\r\n${H}\r\n`,
    statuses: [404], closes: false, upstream: [], reference: 'accepts',
  },
  refuses('UTF-8 in the target', `GET /${Buffer.from('δ¶/δt', 'utf8').toString('latin1')}/pope?q=1#narf HTTP/1.1\r\nHost: github.com\r\n\r\n`, 400, 'invalid_request_target'),
  {
    name: 'fragment in the target (stripped before routing, as Envoy does since CVE-2021-39156)',
    send: `GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET /forums/1/topics/2375?page=1 HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'CONNECT to a host name with an underscore',
    send: 'CONNECT home_0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\nHost: home_0.netscape.com:443\r\n\r\n',
    statuses: [404], code: 'connect_not_served', upstream: [], reference: 'accepts',
    divergence: 'CONNECT is not served (no tunnelling listener), as Envoy without upgrade_configs',
  },
  {
    name: 'absolute-form with userinfo "a%12:b!&*$@hypnotoad.org:1234"',
    send: 'GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\r\nHost: svc.test\r\n\r\n',
    statuses: [400], code: 'invalid_host', upstream: [], reference: 'accepts',
    divergence: 'userinfo in an http(s) URI is an error for the recipient (RFC 9110 §4.2.4)',
  },
  refuses('space in the target', `GET /foo bar/ HTTP/1.1\r\n${H}\r\n`, 400, 'invalid_version'),
];

const method: WireCase[] = [
  ...['REPORT /test', 'PURGE /file.txt', 'SEARCH /', 'UNLINK /images/my_dog.jpg', 'SOURCE /music/sweet/music'].map((line): WireCase => ({
    name: `${line.split(' ')[0]} request`,
    send: `${line} HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded(`${line} HTTP/1.1`, [h])], reference: 'accepts',
  })),
  ...['CONNECT 0-home0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\nHost: 0-home0.netscape.com:443\r\n\r\nsome data\r\nand yet even more data',
    'CONNECT HOME0.NETSCAPE.COM:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\nHost: HOME0.NETSCAPE.COM:443\r\n\r\n',
    'CONNECT foo.bar.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\nProxy-authorization: basic aGVsbG86d29ybGQ=\r\nContent-Length: 10\r\nHost: foo.bar.com:443\r\n\r\nblarfcicle"'].map((send, i): WireCase => ({
    name: ['CONNECT with data after the head', 'CONNECT in capitals', 'CONNECT with a body'][i]!,
    send, statuses: [404], code: 'connect_not_served', upstream: [], reference: 'accepts',
    divergence: 'CONNECT is not served (no tunnelling listener), as Envoy without upgrade_configs',
  })),
  {
    name: 'M-SEARCH * (asterisk-form)',
    send: 'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nST: "ssdp:all"\r\n\r\n',
    statuses: [400], code: 'asterisk_form_not_served', upstream: [], reference: 'accepts',
    divergence: 'asterisk-form names no resource to route (only OPTIONS may use it, RFC 9112 §3.2.4)',
  },
  {
    name: 'PATCH with a body',
    send: `PATCH /file.txt HTTP/1.1\r\n${H}Content-Type: application/example\r\nIf-Match: "e0023aa4e"\r\nContent-Length: 10\r\n\r\ncccccccccc`,
    statuses: [200], upstream: [forwarded('PATCH /file.txt HTTP/1.1', [h, 'content-type: application/example', 'if-match: "e0023aa4e"'], 'content-length: 10', 'cccccccccc')], reference: 'accepts',
  },
  {
    name: 'LINK with two Link fields',
    send: `LINK /images/my_dog.jpg HTTP/1.1\r\n${H}Link: <http://example.com/profiles/joe>; rel="tag"\r\nLink: <http://example.com/profiles/sally>; rel="tag"\r\n\r\n`,
    statuses: [200], upstream: [forwarded('LINK /images/my_dog.jpg HTTP/1.1', [h, 'link: <http://example.com/profiles/joe>; rel="tag"', 'link: <http://example.com/profiles/sally>; rel="tag"'])], reference: 'accepts',
  },
  ...['SOURCE /music/sweet/music ICE/1.0', 'OPTIONS /music/sweet/music RTSP/1.0', 'ANNOUNCE /music/sweet/music RTSP/1.0'].map((line): WireCase => ({
    name: `${line.split(' ')[0]} over ${line.split(' ')[2]}`,
    send: `${line}\r\nHost: example.com\r\n\r\n`,
    statuses: [400], code: 'invalid_version', upstream: [], reference: 'accepts',
    divergence: 'only HTTP/1.0 and HTTP/1.1 are served',
  })),
  {
    name: 'PRI * HTTP/1.1 (the HTTP/2 preface)',
    send: 'PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n',
    statuses: [400], code: 'missing_host', upstream: [], reference: 'accepts',
    divergence: 'prior-knowledge HTTP/2 is not served on this listener (llhttp pauses for the caller to switch)',
  },
  {
    name: 'QUERY with a body',
    send: `QUERY /contacts HTTP/1.1\r\n${H}Content-Type: example/query\r\nAccept: text/csv\r\nContent-Length: 41\r\n\r\nselect surname, givenname, email limit 10`,
    statuses: [200], upstream: [forwarded('QUERY /contacts HTTP/1.1', [h, 'content-type: example/query', 'accept: text/csv'], 'content-length: 41', 'select surname, givenname, email limit 10')], reference: 'accepts',
  },
];

const pipeliningAndFinish: WireCase[] = [
  {
    name: 'three pipelined requests with bodies (CRLF after each body), the last one short of its length',
    send: `POST /aaa HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nAAA\r\nPUT /bbb HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nBBBB\r\nPATCH /ccc HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nCCCC`,
    statuses: [200, 200],
    upstream: [forwarded('POST /aaa HTTP/1.1', [h], 'content-length: 3', 'AAA'), forwarded('PUT /bbb HTTP/1.1', [h], 'content-length: 4', 'BBBB')],
    partial: forwarded('PATCH /ccc HTTP/1.1', [h], 'content-length: 5', 'CCCC'),
    reference: 'accepts', messages: 3,
  },
  {
    name: 'finish after a GET',
    send: `GET / HTTP/1.1\r\n${H}\r\n`,
    statuses: [200], upstream: [forwarded('GET / HTTP/1.1', [h])], reference: 'accepts',
  },
  {
    name: 'finish inside a body: the upstream never gets a whole request',
    send: `PUT / HTTP/1.1\r\n${H}Content-Length: 100\r\n\r\n`,
    statuses: [], closes: false, upstream: [], partial: forwarded('PUT / HTTP/1.1', [h], 'content-length: 100'),
  },
  {
    name: 'finish inside the head: nothing reaches the upstream',
    send: `PUT / HTTP/1.1\r\n${H}Content-Leng`,
    statuses: [], closes: false, upstream: [],
  },
];

export const LLHTTP_CASES: Array<[string, WireCase[]]> = [
  ['content-length.md', contentLength],
  ['transfer-encoding.md', transferEncoding],
  ['invalid.md', invalid],
  ['connection.md', connection],
  ['sample.md', sample],
  ['uri.md', uri],
  ['method.md', method],
  ['pipelining.md, finish.md', pipeliningAndFinish],
];

const rigs = new Rigs();
afterAll(() => rigs.close());

for (const [file, cases] of LLHTTP_CASES) {
  describe(`HTTP/1.1 listener: llhttp test/request/${file}`, () => {
    for (const c of cases) it(c.name, () => runWireCase(rigs, c));
  });
}
