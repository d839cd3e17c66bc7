// The HTTP/1.1 response head serializer (host/listener/http1/response-head.ts): the bytes of the
// status line, the fields as given (strings as latin1, byte views as they are), then the
// listener's date, server and framing fields; short strings and numbers are written by loops in
// JS, long ones by Buffer#write, and both must give Buffer#write's latin1 bytes.
import { describe, expect, it } from 'vitest';
import { beginHead, finishHead, headStatus, HEAD_SINK, WireFraming } from '../../../host/listener/http1/response-head.js';

function head(fields: Array<[string | Uint8Array, string | Uint8Array]>, framing: WireFraming, length: number, server: string | null = null): Buffer {
  beginHead();
  headStatus('200 OK');
  for (const [n, v] of fields) HEAD_SINK.header(n, v);
  return finishHead(framing, length, false, server);
}

/** The head's lines after the status line, without the date line (it moves with the clock). */
function lines(b: Buffer): string[] {
  return b.toString('latin1').split('\r\n').filter((l) => !l.startsWith('date: '));
}

describe('response head', () => {
  it('writes content-length in decimal for 0, one digit, powers of ten and large lengths', () => {
    for (const n of [0, 7, 9, 10, 99, 100, 1024, 65536, 1234567890123, Number.MAX_SAFE_INTEGER]) {
      expect(lines(head([], WireFraming.Length, n))).toContain(`content-length: ${n}`);
    }
  });

  it('ends with the date, then the framing field and a blank line', () => {
    const text = head([['x-a', 'b']], WireFraming.Length, 5).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\nx-a: b\r\ndate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\ncontent-length: 5\r\n\r\n$/);
    expect(lines(head([], WireFraming.Chunked, 0))).toContain('transfer-encoding: chunked');
  });

  it('writes short and long strings as Buffer#write latin1 does: each character\'s low byte', () => {
    const short = 'caf\u00e9-\u0101\u00ff';
    const long = `${'v'.repeat(80)}\u00e9\u0141`;
    const b = head([[short, long], ['n', 'x'.repeat(64)], ['m', 'y'.repeat(65)]], WireFraming.None, 0, 'srv');
    const expected = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\n', 'latin1'),
      Buffer.from(`${short}: ${long}\r\n`, 'latin1'),
      Buffer.from(`n: ${'x'.repeat(64)}\r\nm: ${'y'.repeat(65)}\r\n`, 'latin1'),
    ]);
    expect(b.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(lines(b)).toContain('server: srv');
  });

  it('passes byte views through unchanged', () => {
    const name = Uint8Array.from([0x78, 0x2d, 0x62]);
    const value = Uint8Array.from([0x80, 0xff, 0x20, 0x41]);
    const b = head([[name, value]], WireFraming.None, 0);
    const i = b.indexOf(Buffer.from('x-b: '));
    expect([...b.subarray(i + 5, i + 9)]).toEqual([0x80, 0xff, 0x20, 0x41]);
  });
});

describe('response head: fields as spans of a memory (headerBytes)', () => {
  it('writes the same bytes as header() with views of the spans, short and long', () => {
    const mem = new Uint8Array(Buffer.from(`..x-short..value-\u00e9..x-long..${'L'.repeat(200)}..`, 'latin1'));
    const span = (s: string): [number, number] => {
      const i = Buffer.from(mem).indexOf(Buffer.from(s, 'latin1'));
      return [i, i + Buffer.byteLength(s, 'latin1')];
    };
    const [a, b] = span('x-short');
    const [c, d] = span('value-\u00e9');
    const [e, f] = span('x-long');
    const [g, h] = span('L'.repeat(200));
    beginHead();
    headStatus('200 OK');
    HEAD_SINK.headerBytes!(mem, a, b, c, d);
    HEAD_SINK.headerBytes!(mem, e, f, g, h);
    const bySpans = finishHead(WireFraming.None, 0, false, null);
    beginHead();
    headStatus('200 OK');
    HEAD_SINK.header(mem.subarray(a, b), mem.subarray(c, d));
    HEAD_SINK.header(mem.subarray(e, f), mem.subarray(g, h));
    const byViews = finishHead(WireFraming.None, 0, false, null);
    expect(lines(bySpans)).toEqual(lines(byViews));
    expect(lines(bySpans)).toContain('x-short: value-\u00e9');
    expect(lines(bySpans)).toContain(`x-long: ${'L'.repeat(200)}`);
  });
});
