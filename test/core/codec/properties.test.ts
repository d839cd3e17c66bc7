// Property tests (fast-check) for the codec: generated valid requests round-trip through
// the parser; for any bytes the parsers never trap and answer the same however the input is
// split; the chunked decoder recovers any payload from any chunking and any split. Each runs
// in a worker with a deadline per case (test/helpers/wasm-deadline.ts): a parser that loops
// fails its test instead of hanging the run.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { parseRequestHead, parseResponseHead } from '../../../host/codec/parse-head.js';
import { ChunkedDecoder } from '../../../host/core/codec/chunked-decoder.js';
import { statusEntry, STATUS_OK } from '../../../host/core/status.js';
import { testCore, bytes, text } from './codec-helpers.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const VCHAR = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
const SPECIAL = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });
const target = fc.string({ unit: fc.constantFrom(...VCHAR), maxLength: 40 }).map((s) => '/' + s);
const fieldName = token.filter((n) => !SPECIAL.has(n.toLowerCase()));
// A value: visible chars and obs-text, inner spaces/tabs, no leading or trailing whitespace.
const valueChar = fc.oneof(
  fc.constantFrom(...VCHAR),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
);
const fieldValue = fc
  .array(fc.oneof({ weight: 5, arbitrary: valueChar }, { weight: 1, arbitrary: fc.constantFrom(' ', '\t') }), { maxLength: 30 })
  .map((cs) => cs.join('').replace(/^[ \t]+|[ \t]+$/g, ''));
const ows = fc.constantFrom('', ' ', '\t', '  ');

const roundTrip = wasmProperty(import.meta.url, 'valid requests round-trip', () => [
  token, target, fc.constantFrom('1.0', '1.1'), fc.array(fc.tuple(fieldName, fieldValue, ows, ows), { maxLength: 20 }), token,
  (method: string, tgt: string, version: string, fields: Array<[string, string, string, string]>, host: string) => {
    const headers: [string, string][] = [['Host', host], ...fields.map(([n, v]): [string, string] => [n, v])];
    let s = `${method} ${tgt} HTTP/${version}\r\n`;
    s += `Host: ${host}\r\n`;
    for (const [n, v, a, b] of fields) s += `${n}:${a}${v}${b}\r\n`;
    s += '\r\n';
    const r = parseRequestHead(bytes(s));
    expect(r).toMatchObject({ status: 'ok', method, target: tgt, version, headLength: s.length, headers });
  },
], { numRuns: 300 });

// Inputs biased towards HTTP-shaped bytes, so runs get past the first line.
const fragment = fc.oneof(
  fc.constantFrom(
    'GET', 'POST', ' ', '/', '/a?b', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', '\r\n', '\r', '\n', 'Host: a', 'Host', ':', ': ',
    'Content-Length: 5', 'Content-Length: 5, 6', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip', 'Connection: close',
    '\x00', '\t', 'X-A: b', ' 200 OK', '204', '\r\n\r\n', 'Content-Length: x',
  ),
  fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
);
const request = fc.tuple(fc.constantFrom('GET / HTTP/1.1\r\n', 'POST /x HTTP/1.0\r\n', ''), fc.array(fragment, { maxLength: 40 })).map(([a, b]) => a + b.join(''));
const response = fc.tuple(fc.constantFrom('HTTP/1.1 200 OK\r\n', 'HTTP/1.0 304 x\r\n', ''), fc.array(fragment, { maxLength: 40 })).map(([a, b]) => a + b.join(''));

type Parse = (b: Uint8Array) => { status: string; headLength?: number };
function samePrefixAnswers(parse: Parse, input: string, cuts: number[]): void {
  const whole = parse(bytes(input));
  // Feed growing prefixes at the cut points, as a socket would deliver them.
  for (const k of [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b)) {
    const part = parse(bytes(input.slice(0, k)));
    if (part.status === 'incomplete') {
      if (whole.status === 'ok') expect(k).toBeLessThan(whole.headLength!);
      continue;
    }
    expect(part).toEqual(whole);
  }
}

const requestSplits = wasmProperty(import.meta.url, 'request bytes, split anywhere', () => [
  request, fc.array(fc.nat(), { maxLength: 8 }), (input: string, cuts: number[]) => samePrefixAnswers(parseRequestHead, input, cuts),
], { numRuns: 1000 });

const responseSplits = wasmProperty(import.meta.url, 'response bytes, split anywhere', () => [
  response, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (input: string, cuts: number[], head: boolean) =>
    samePrefixAnswers((b) => parseResponseHead(b, { requestWasHead: head }), input, cuts),
], { numRuns: 1000 });

const randomBytes = wasmProperty(import.meta.url, 'uniformly random bytes', () => [
  fc.uint8Array({ maxLength: 200 }), (b: Uint8Array) => {
    expect(['ok', 'incomplete', 'error']).toContain(parseRequestHead(b).status);
    expect(['ok', 'incomplete', 'error']).toContain(parseResponseHead(b).status);
  },
], { numRuns: 1000 });

/** Decodes `input` delivered in the pieces cut at `cuts`; returns code, payload, done. */
function chunked(dec: ChunkedDecoder, input: string, cuts: number[]): { code: string; data: string; done: boolean } {
  dec.reset();
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let at = 0;
  for (const p of points) { pieces.push(input.slice(at, p)); at = p; }
  pieces.push(input.slice(at));
  let data = '';
  let status = STATUS_OK;
  for (const piece of pieces) {
    const buf = bytes(piece);
    status = dec.push(buf);
    for (;;) {
      for (let i = 0; i < dec.spanCount; i++) data += text(buf.subarray(dec.spanStart(i), dec.spanEnd(i)));
      if (status !== STATUS_OK || !dec.pending) break;
      status = dec.more();
    }
    if (status !== STATUS_OK || dec.done) break;
  }
  return { code: statusEntry(status).code, data, done: dec.done };
}

const chunkedPayloads = wasmProperty(import.meta.url, 'chunked payloads, any chunking and split', () => {
  const dec = new ChunkedDecoder(testCore());
  return [
    fc.array(fc.string({ minLength: 1, maxLength: 50 }), { maxLength: 10 }),
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.constantFrom('', ';a=b', ';q="x;y"'),
    (chunks: string[], cuts: number[], ext: string) => {
      const payload = chunks.map((c) => Buffer.from(c, 'latin1').toString('latin1')).join('');
      const body = chunks.map((c) => `${c.length.toString(16)}${ext}\r\n${c}\r\n`).join('') + '0\r\nT: v\r\n\r\n';
      expect(chunked(dec, body, cuts)).toEqual({ code: 'ok', data: payload, done: true });
    },
  ];
}, { numRuns: 300 });

const chunkedBytes = wasmProperty(import.meta.url, 'chunked: any bytes, split anywhere', () => {
  const dec = new ChunkedDecoder(testCore());
  const piece = fc.oneof(fc.constantFrom('5\r\n', 'hello', '\r\n', '0\r\n', ';x', 'X: y\r\n', '\r', '\n', 'a'), fc.string({ maxLength: 3 }));
  return [
    fc.array(piece, { maxLength: 20 }).map((a) => a.join('')), fc.array(fc.nat(), { maxLength: 6 }),
    (input: string, cuts: number[]) => {
      expect(chunked(dec, input, cuts)).toEqual(chunked(dec, input, []));
    },
  ];
}, { numRuns: 1000 });

describe('properties', () => {
  test('valid requests round-trip: serialize → parse → same method, target, headers', () => roundTrip.check());
  test('any request bytes: no trap, and every split gives incomplete or the whole answer', () => requestSplits.check());
  test('any response bytes: no trap, and every split gives incomplete or the whole answer', () => responseSplits.check());
  test('uniformly random bytes never trap', () => randomBytes.check());
  test('chunked: any payload, any chunking, any split decodes to the payload', () => chunkedPayloads.check());
  test('chunked: any bytes give the same code and payload however split', () => chunkedBytes.check());
});
