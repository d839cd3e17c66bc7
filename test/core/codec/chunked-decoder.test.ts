// The chunked body decoder through the real binding: sizes, extensions, trailers, every
// split point, the span table limit, and malformed input (stable codes).
import { describe, test, expect } from 'vitest';
import { ChunkedDecoder } from '../../../host/core/codec/chunked-decoder.js';
import { statusEntry, STATUS_OK } from '../../../host/core/status.js';
import { testCore, bytes, text } from './codec-helpers.js';

interface Decoded {
  status: string;
  data: string;
  done: boolean;
  consumed: number; // total input bytes consumed across pushes
  trailerBytes: number;
}

/** Feeds `pieces` in order, collecting payload; stops at the first error. */
function decode(pieces: string[], dec = new ChunkedDecoder(testCore())): Decoded {
  dec.reset();
  let data = '';
  let consumed = 0;
  let status = STATUS_OK;
  outer: for (const piece of pieces) {
    const buf = bytes(piece);
    status = dec.push(buf);
    for (;;) {
      for (let i = 0; i < dec.spanCount; i++) data += text(buf.subarray(dec.spanStart(i), dec.spanEnd(i)));
      if (status !== STATUS_OK) break outer;
      if (!dec.pending) break;
      status = dec.more();
    }
    consumed += dec.consumed;
    if (dec.done) break;
  }
  return { status: statusEntry(status).code, data, done: dec.done, consumed, trailerBytes: dec.trailerBytes };
}

const BODY = '5\r\nhello\r\n6;name=val;x="q;s"\r\n world\r\n0\r\nX-Trailer: t\r\nY: u\r\n\r\n';

describe('chunked decoder', () => {
  test('sizes, extensions and trailers decode; done at the final CRLF', () => {
    expect(decode([BODY])).toEqual({ status: 'ok', data: 'hello world', done: true, consumed: BODY.length, trailerBytes: 'X-Trailer: t\r\nY: u\r\n'.length });
  });

  test('hex sizes in either case, leading zeros', () => {
    const body = 'A\r\n0123456789\r\n00000b\r\nabcdefghijk\r\n0\r\n\r\n';
    expect(decode([body])).toMatchObject({ status: 'ok', data: '0123456789abcdefghijk', done: true });
    expect(decode(['a\r\n0123456789\r\n0\r\n\r\n'])).toMatchObject({ data: '0123456789', done: true });
  });

  test('bytes after the body are not consumed (pipelined next message)', () => {
    const r = decode([BODY + 'HTTP/1.1 200 OK\r\n']);
    expect(r).toMatchObject({ done: true, consumed: BODY.length });
  });

  test('every split point (two pieces) gives the same payload', () => {
    for (let k = 0; k <= BODY.length; k++) {
      expect(decode([BODY.slice(0, k), BODY.slice(k)]), `split at ${k}`).toMatchObject({ status: 'ok', data: 'hello world', done: true, consumed: BODY.length });
    }
  });

  test('one byte at a time', () => {
    expect(decode([...BODY])).toMatchObject({ status: 'ok', data: 'hello world', done: true });
  });

  test('more than 64 chunks in one read: the span table refills through more()', () => {
    let body = '';
    let want = '';
    for (let i = 0; i < 300; i++) {
      const s = String(i % 10).repeat((i % 7) + 1);
      body += s.length.toString(16) + '\r\n' + s + '\r\n';
      want += s;
    }
    body += '0\r\n\r\n';
    expect(decode([body])).toMatchObject({ status: 'ok', data: want, done: true, consumed: body.length });
  });

  test('a large chunk across many reads', () => {
    const payload = 'x'.repeat(100_000);
    const body = payload.length.toString(16) + '\r\n' + payload + '\r\n0\r\n\r\n';
    const pieces: string[] = [];
    for (let i = 0; i < body.length; i += 4096) pieces.push(body.slice(i, i + 4096));
    expect(decode(pieces)).toMatchObject({ status: 'ok', done: true, data: payload });
  });

  test('chunk sizes up to 2^53-1 are accepted; above is chunk_size_too_large', () => {
    expect(decode(['1fffffffffffff\r\nab'])).toMatchObject({ status: 'ok', data: 'ab', done: false });
    expect(decode(['20000000000000\r\n'])).toMatchObject({ status: 'chunk_size_too_large' });
    expect(decode(['ffffffffffffffffffff\r\n'])).toMatchObject({ status: 'chunk_size_too_large' });
  });

  test('malformed input: stable codes', () => {
    const cases: Array<[string, string]> = [
      ['\r\n', 'invalid_chunk_size'],
      ['x\r\n', 'invalid_chunk_size'],
      ['-1\r\n', 'invalid_chunk_size'],
      ['5 \r\nhello\r\n', 'invalid_chunk_size'],
      ['5\nhello\r\n', 'bare_lf'],
      ['5\rhello\r\n', 'bare_cr'],
      ['5;a\x00b\r\nhello\r\n', 'invalid_chunk_extension'],
      ['5;a\nhello', 'bare_lf'],
      ['5\r\nhelloX\r\n', 'missing_chunk_crlf'],
      ['5\r\nhello\n', 'missing_chunk_crlf'],
      ['5\r\nhello\r\r', 'missing_chunk_crlf'],
      ['0\r\nX : y\r\n\r\n', 'space_before_colon'],
      ['0\r\n y\r\n\r\n', 'obs_fold'],
      ['0\r\nX: a\x00\r\n\r\n', 'invalid_header_value'],
      ['0\r\n(: a\r\n\r\n', 'invalid_header_name'],
      ['0\r\nX: a\n\r\n', 'bare_lf'],
      ['0\r\n\rx', 'bare_cr'],
      ['5;' + 'e'.repeat(5000) + '\r\n', 'chunk_extension_too_large'],
      ['0\r\nX: ' + 'v'.repeat(61440) + '\r\n\r\n', 'trailers_too_large'],
      ['0\r\n' + 'X: y\r\n'.repeat(101) + '\r\n', 'too_many_trailers'],
    ];
    for (const [body, code] of cases) {
      expect(decode([body]), JSON.stringify(body.slice(0, 40))).toMatchObject({ status: code });
      // The same error at every split point (the decoder is resumable byte by byte).
      expect(decode([...body.slice(0, 200)].concat(body.slice(200))), 'bytewise ' + JSON.stringify(body.slice(0, 40))).toMatchObject({ status: code });
    }
  });

  test('100 trailers are fine; errors are sticky until reset', () => {
    expect(decode(['0\r\n' + 'X: y\r\n'.repeat(100) + '\r\n'])).toMatchObject({ status: 'ok', done: true });
    const dec = new ChunkedDecoder(testCore());
    expect(statusEntry(dec.push(bytes('zz'))).code).toBe('invalid_chunk_size');
    expect(dec.errorOffset).toBe(0);
    expect(statusEntry(dec.push(bytes('0\r\n\r\n'))).code).toBe('invalid_chunk_size');
    dec.reset();
    expect(dec.push(bytes('0\r\n\r\n'))).toBe(STATUS_OK);
    expect(dec.done).toBe(true);
  });
});
