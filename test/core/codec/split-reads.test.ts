// Split reads: for several valid and invalid heads, every prefix is `incomplete` or gives
// exactly the whole input's answer, through both the public API and the accumulating
// HeadParser (append + parseBuffered*), as the proxy's upstream side uses it.
import { describe, test, expect } from 'vitest';
import { parseRequestHead, parseResponseHead } from '../../../host/codec/parse-head.js';
import { HeadParser } from '../../../host/core/codec/head-parser.js';
import { statusEntry, STATUS_OK, STATUS_INCOMPLETE } from '../../../host/core/status.js';
import { testCore, bytes } from './codec-helpers.js';

const REQUESTS = [
  'GET /a HTTP/1.1\r\nHost: a\r\nX-Y: z \r\n\r\n',
  '\r\nPOST /u?x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', // invalid_header_value
  'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', // duplicate_host
  'GET / HTTP/1.1\r\nX: a\r\n\r\n', // missing_host (decided at the end)
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', // te_and_cl
  'GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n', // bare_cr
  'GET / HTTP/3.0\r\n\r\n', // unsupported_version
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 12x\r\n\r\n', // invalid_content_length
];

const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi',
  'HTTP/1.1 204\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', // unsupported_transfer_coding
  'HTTP/1.1 2x0 OK\r\n\r\n', // invalid_status_line
];

/** Checks the split-read contract for one input through the public function. */
function checkPrefixes(input: string, parse: (b: Uint8Array) => { status: string; headLength?: number }): void {
  const whole = parse(bytes(input));
  expect(whole.status).not.toBe('incomplete');
  for (let k = 0; k < input.length; k++) {
    const part = parse(bytes(input.slice(0, k)));
    if (whole.status === 'ok' && k >= whole.headLength!) expect(part, `prefix ${k}`).toEqual(whole);
    else if (part.status !== 'incomplete') expect(part, `prefix ${k} of ${JSON.stringify(input)}`).toEqual(whole);
    if (whole.status === 'ok' && k < whole.headLength!) expect(part.status, `prefix ${k}`).toBe('incomplete');
  }
}

describe('split reads', () => {
  test.each(REQUESTS)('request prefixes: %j', (input) => checkPrefixes(input, parseRequestHead));
  test.each(RESPONSES)('response prefixes: %j', (input) => checkPrefixes(input, (b) => parseResponseHead(b)));

  test('accumulating parser: one-byte reads reach the same answer as whole input', () => {
    const p = new HeadParser(testCore());
    for (const input of REQUESTS) {
      const whole = p.parseRequest(bytes(input));
      const wholeLength = whole === STATUS_OK ? p.headLength : -1;
      p.reset();
      let status = STATUS_INCOMPLETE;
      for (const b of bytes(input)) {
        p.append(Uint8Array.of(b));
        status = p.parseBufferedRequest();
        if (status !== STATUS_INCOMPLETE) break;
      }
      expect(statusEntry(status).code, JSON.stringify(input)).toBe(statusEntry(whole).code);
      if (whole === STATUS_OK) expect(p.headLength).toBe(wholeLength);
    }
  });

  test('accumulating parser: the buffered region grows past 4 KiB and keeps earlier bytes', () => {
    const p = new HeadParser(testCore());
    const head = 'HTTP/1.1 200 OK\r\n' + 'X-Pad: ' + 'p'.repeat(20_000) + '\r\nContent-Length: 0\r\n\r\n';
    p.reset();
    for (let i = 0; i < head.length; i += 1000) {
      p.append(bytes(head.slice(i, i + 1000)));
      const s = p.parseBufferedResponse(false);
      if (i + 1000 < head.length) expect(s).toBe(STATUS_INCOMPLETE);
      else expect(s).toBe(STATUS_OK);
    }
    expect(p.headLength).toBe(head.length);
    expect(p.valueEnd(0) - p.valueStart(0)).toBe(20_000);
    expect(Buffer.from(p.inputView(p.nameStart(1), p.nameEnd(1))).toString()).toBe('Content-Length');
  });
});
