// The parser's fast byte-class scans (assembly/codec/byte-scan.ts, 16 bytes per step) must
// find exactly the byte a one-byte-at-a-time loop finds: every byte value is placed at every
// position of a long span (so it falls in the first, a middle and a partial 16-byte block),
// in each place the parser scans (method, target, field name, field value, reason phrase),
// and the error must be decided at that byte with the code the grammar gives it. Prefixes cut
// inside a block must be incomplete: bytes past the input's end never decide anything.
import { describe, test, expect } from 'vitest';
import { parseRequestHead, parseResponseHead } from '../../../host/codec/parse-head.js';
import { bytes } from './codec-helpers.js';

const TCHAR = new Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('').map((c) => c.charCodeAt(0)));
const isTchar = (b: number) => TCHAR.has(b);
const isVchar = (b: number) => b >= 0x21 && b <= 0x7e;
const isField = (b: number) => isVchar(b) || b >= 0x80 || b === 0x20 || b === 0x09;

/** Span lengths around the 16-byte block size, with the odd byte at every position in them. */
const LENGTHS = [1, 15, 16, 17, 33, 47];

function place(len: number, at: number, b: number, fill: string): string {
  return fill.repeat(at) + String.fromCharCode(b) + fill.repeat(len - at - 1);
}

/** Every (length, position, byte) case for one scan site. */
function* cases(): Generator<[number, number, number]> {
  for (const len of LENGTHS) for (let at = 0; at < len; at++) for (let b = 0; b < 256; b++) yield [len, at, b];
}

describe('fast scans decide at the first byte outside the class', () => {
  test('field value: any byte at any position', () => {
    const pre = 'GET / HTTP/1.1\r\nHost: a\r\nX-Value: ';
    for (const [len, at, b] of cases()) {
      const value = place(len, at, b, 'v');
      const r = parseRequestHead(bytes(`${pre}${value}\r\n\r\n`));
      if (isField(b)) {
        expect(r.status, `value byte 0x${b.toString(16)} at ${at}/${len}`).toBe('ok');
        continue;
      }
      // CR not followed by LF is a bare CR; LF alone a bare LF; any other control is invalid.
      const code = b === 0x0d ? 'bare_cr' : b === 0x0a ? 'bare_lf' : 'invalid_header_value';
      expect(r, `value byte 0x${b.toString(16)} at ${at}/${len}`).toMatchObject({ status: 'error', code, offset: pre.length + at });
    }
  });

  test('field name: any byte at any position', () => {
    const pre = 'GET / HTTP/1.1\r\nHost: a\r\n';
    for (const [len, at, b] of cases()) {
      const name = place(len, at, b, 'n');
      const r = parseRequestHead(bytes(`${pre}${name}: v\r\n\r\n`));
      const where = `name byte 0x${b.toString(16)} at ${at}/${len}`;
      if (isTchar(b)) {
        expect(r.status, where).toBe('ok');
        continue;
      }
      if (b === 0x3a) {
        // A colon ends the name early (an empty name when first); the rest joins the value.
        if (at === 0) expect(r, where).toMatchObject({ status: 'error', code: 'invalid_header_name', offset: pre.length });
        else expect(r.status, where).toBe('ok');
        continue;
      }
      let code = at > 0 && (b === 0x20 || b === 0x09) ? 'space_before_colon' : 'invalid_header_name';
      if (at === 0) code = b === 0x20 || b === 0x09 ? 'obs_fold' : b === 0x0a ? 'bare_lf' : b === 0x0d ? 'bare_cr' : code;
      expect(r, where).toMatchObject({ status: 'error', code, offset: pre.length + at });
    }
  });

  test('request-target: any byte at any position', () => {
    for (const [len, at, b] of cases()) {
      const target = '/' + place(len, at, b, 't');
      const r = parseRequestHead(bytes(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`));
      const where = `target byte 0x${b.toString(16)} at ${at}/${len}`;
      if (isVchar(b)) {
        expect(r.status, where).toBe('ok');
        continue;
      }
      if (b === 0x20) {
        // A space ends the target early; what follows is not "HTTP/".
        expect(r.status, where).toBe('error');
        if (r.status === 'error') expect(r.offset, where).toBeGreaterThan(5 + at);
        continue;
      }
      const code = b === 0x09 || b === 0x0d || b === 0x0a ? 'invalid_request_line' : 'invalid_request_target';
      expect(r, where).toMatchObject({ status: 'error', code, offset: 5 + at });
    }
  });

  test('method: any byte at any position', () => {
    for (const [len, at, b] of cases()) {
      const method = place(len, at, b, 'M');
      const r = parseRequestHead(bytes(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`));
      const where = `method byte 0x${b.toString(16)} at ${at}/${len}`;
      if (isTchar(b)) {
        expect(r.status, where).toBe('ok');
        continue;
      }
      if (at === 0 && (b === 0x0d || b === 0x0a)) continue; // leading empty-line rules, tested elsewhere
      if (b === 0x20 && at > 0) {
        expect(r.status, where).toBe('error'); // "MM MMM / HTTP/1.1": the rest is not a target + version
        continue;
      }
      const lineish = b === 0x09 || b === 0x0d || b === 0x0a;
      const code = at > 0 && lineish ? 'invalid_request_line' : 'invalid_method';
      expect(r, where).toMatchObject({ status: 'error', code, offset: at });
    }
  });

  test('reason phrase: any byte at any position', () => {
    for (const [len, at, b] of cases()) {
      const reason = place(len, at, b, 'r');
      const r = parseResponseHead(bytes(`HTTP/1.1 200 ${reason}\r\nContent-Length: 0\r\n\r\n`));
      const where = `reason byte 0x${b.toString(16)} at ${at}/${len}`;
      if (isField(b)) {
        expect(r.status, where).toBe('ok');
        continue;
      }
      const code = b === 0x0d ? 'bare_cr' : b === 0x0a ? 'bare_lf' : 'invalid_status_line';
      expect(r, where).toMatchObject({ status: 'error', code, offset: 13 + at });
    }
  });
});

describe('bytes past the end of the input decide nothing', () => {
  test('every prefix of long lines is incomplete, even when the next byte would be an error', () => {
    const name = 'X-' + 'n'.repeat(40);
    const value = 'v'.repeat(70);
    const head = `GET /${'p'.repeat(50)} HTTP/1.1\r\nHost: a\r\n${name}: ${value}\r\n\r\n`;
    expect(parseRequestHead(bytes(head)).status).toBe('ok');
    // The parser's input region is reused: fill it with a long run of bad bytes first, so that a
    // vector load past a short prefix's end sees stale NULs and DELs, not zeros by luck.
    parseRequestHead(bytes('\x7f\x00'.repeat(200)));
    for (let k = 0; k < head.length; k++) {
      expect(parseRequestHead(bytes(head.slice(0, k))).status, `prefix ${k}`).toBe('incomplete');
    }
  });
});
