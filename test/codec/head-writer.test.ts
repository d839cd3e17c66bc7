// The upstream request head writer and the downstream response head filter through the real
// binding: edits, hop-by-hop removal, Connection-named fields, framing, output too small.
import { describe, test, expect } from 'vitest';
import {
  RequestHeadWriter, ResponseHeadFilter, HeadParser, EditList,
  WRITE_FRAMING_NONE, WRITE_FRAMING_LENGTH, WRITE_FRAMING_CHUNKED,
} from '../../host/core/codec.js';
import { RequestView } from '../../host/core/request-view.js';
import { statusEntry, STATUS_OK } from '../../host/core/status.js';
import type { HeaderOps } from '../../host/model/mesh.js';
import { parseRequestHead } from '../../host/codec/parse-head.js';
import { testCore, bytes, text } from './codec-helpers.js';

const core = testCore();
const view = new RequestView(core);
const writer = new RequestHeadWriter(core);

function ops(o: Partial<HeaderOps>): HeaderOps {
  return { set: o.set ?? [], add: o.add ?? [], remove: o.remove ?? [] };
}

function load(method: string, path: string, authority: string, headers: Array<[string, string]>): void {
  expect(view.begin(method, path, authority)).toBeNull();
  for (const [n, v] of headers) expect(view.header(n, v)).toBeNull();
}

function write(edits: EditList[] = [], framing = WRITE_FRAMING_NONE, contentLength = 0, overrides?: Parameters<RequestHeadWriter['write']>[4]): string {
  return text(writer.write(view, edits, framing, contentLength, overrides));
}

describe('request head writer', () => {
  test('request line, host first, headers in order, final CRLF; output re-parses', () => {
    load('GET', '/a?b=c', 'svc.local:8080', [['host', 'svc.local:8080'], ['accept', '*/*'], ['x-b3-traceid', 'abc']]);
    const head = write();
    expect(head).toBe('GET /a?b=c HTTP/1.1\r\nhost: svc.local:8080\r\naccept: */*\r\nx-b3-traceid: abc\r\n\r\n');
    expect(parseRequestHead(bytes(head))).toMatchObject({ status: 'ok', method: 'GET', target: '/a?b=c' });
  });

  test('hop-by-hop fields, content-length and Connection-named fields are dropped; te: trailers kept', () => {
    load('POST', '/', 'a', [
      ['connection', 'keep-alive, X-Secret'],
      ['keep-alive', 'timeout=5'],
      ['proxy-connection', 'keep-alive'],
      ['transfer-encoding', 'chunked'],
      ['upgrade', 'websocket'],
      ['content-length', '5'],
      ['x-secret', 'hide me'],
      ['te', 'trailers'],
      ['x-keep', '1'],
    ]);
    expect(write()).toBe('POST / HTTP/1.1\r\nhost: a\r\nte: trailers\r\nx-keep: 1\r\n\r\n');
    load('GET', '/', 'a', [['te', 'gzip, trailers']]);
    expect(write()).toBe('GET / HTTP/1.1\r\nhost: a\r\n\r\n');
  });

  test('framing header: content-length N or transfer-encoding chunked', () => {
    load('POST', '/u', 'a', [['content-length', '999'], ['x', 'y']]);
    expect(write([], WRITE_FRAMING_LENGTH, 1234567890123)).toBe('POST /u HTTP/1.1\r\nhost: a\r\nx: y\r\ncontent-length: 1234567890123\r\n\r\n');
    expect(write([], WRITE_FRAMING_LENGTH, 0)).toContain('\r\ncontent-length: 0\r\n\r\n');
    expect(write([], WRITE_FRAMING_CHUNKED)).toBe('POST /u HTTP/1.1\r\nhost: a\r\nx: y\r\ntransfer-encoding: chunked\r\n\r\n');
  });

  test('edits: remove, set (replaces every same-named field), add (appends); names case-insensitive', () => {
    load('GET', '/', 'a', [['x-a', '1'], ['x-b', '2'], ['x-b', '3'], ['x-c', '4']]);
    const edits = new EditList(core, ops({ remove: ['X-A'], set: [['X-B', 'new']], add: [['x-c', '5'], ['x-d', '6']] }));
    expect(write([edits])).toBe('GET / HTTP/1.1\r\nhost: a\r\nx-c: 4\r\nx-b: new\r\nx-c: 5\r\nx-d: 6\r\n\r\n');
  });

  test('several edit lists apply in order: a later remove/set wins over an earlier add', () => {
    load('GET', '/', 'a', [['x-a', '1']]);
    const route = new EditList(core, ops({ add: [['x-r', 'route'], ['x-z', 'keep']] }));
    const dest = new EditList(core, ops({ remove: ['x-r'], set: [['x-a', 'dest']] }));
    expect(write([route, dest])).toBe('GET / HTTP/1.1\r\nhost: a\r\nx-z: keep\r\nx-a: dest\r\n\r\n');
    // The other order: the route's add comes after the destination's set and survives.
    const route2 = new EditList(core, ops({ add: [['x-a', 'route']] }));
    expect(write([dest, route2])).toBe('GET / HTTP/1.1\r\nhost: a\r\nx-a: dest\r\nx-a: route\r\n\r\n');
  });

  test('edits cannot write framing or hop-by-hop fields; an edit on host rewrites the authority', () => {
    load('GET', '/', 'a', []);
    const edits = new EditList(core, ops({ set: [['content-length', '7'], ['connection', 'close'], ['host', 'b.example']] }));
    expect(write([edits])).toBe('GET / HTTP/1.1\r\nhost: b.example\r\n\r\n');
  });

  test('overrides for method, path and authority', () => {
    load('GET', '/old', 'a', [['x', '1']]);
    expect(write([], WRITE_FRAMING_NONE, 0, { path: '/new/path', authority: 'up:9' })).toBe('GET /new/path HTTP/1.1\r\nhost: up:9\r\nx: 1\r\n\r\n');
    expect(write([], WRITE_FRAMING_NONE, 0, { method: 'HEAD' })).toBe('HEAD /old HTTP/1.1\r\nhost: a\r\nx: 1\r\n\r\n');
  });

  test('output too small → negative output_too_small; write() grows and succeeds', () => {
    const big = 'v'.repeat(10_000);
    load('GET', '/', 'a', [['x', big]]);
    const r = writer.writeRaw(view, [], WRITE_FRAMING_NONE, 0, 100);
    expect(r).toBeLessThan(0);
    expect(statusEntry(-r).code).toBe('output_too_small');
    const exact = 'GET / HTTP/1.1\r\nhost: a\r\nx: '.length + big.length + 4;
    expect(writer.writeRaw(view, [], WRITE_FRAMING_NONE, 0, exact)).toBe(exact);
    expect(writer.writeRaw(view, [], WRITE_FRAMING_NONE, 0, exact - 1)).toBeLessThan(0);
    expect(write()).toHaveLength(exact);
  });

  test('more than 8 edit lists is refused', () => {
    load('GET', '/', 'a', []);
    const e = new EditList(core, ops({}));
    expect(() => write(Array(9).fill(e))).toThrow(/at most 8/);
  });
});

describe('response head filter', () => {
  const parser = new HeadParser(core);
  const filter = new ResponseHeadFilter(core);

  function filtered(head: string, edits: EditList[] = [], keepCl = false): Array<[string, string]> {
    expect(parser.parseResponse(bytes(head), false)).toBe(STATUS_OK);
    const n = filter.filter(parser, edits, keepCl);
    const out: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) out.push([text(filter.name(i)), text(filter.value(i))]);
    return out;
  }

  test('hop-by-hop, framing and Connection-named fields dropped; names as sent', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n' +
      'Transfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n';
    expect(filtered(head)).toEqual([['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
    expect(text(filter.statusText(parser))).toBe('200 OK');
  });

  test('content-length dropped unless asked to keep it (HEAD, 304)', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\n';
    expect(filtered(head)).toEqual([['X', 'y']]);
    expect(filtered(head, [], true)).toEqual([['Content-Length', '5'], ['X', 'y']]);
  });

  test('edits apply (case-insensitive) after the upstream fields', () => {
    const head = 'HTTP/1.1 503 Service Unavailable\r\nServer: up\r\nX-Internal: secret\r\nContent-Length: 0\r\n\r\n';
    const edits = new EditList(core, ops({ remove: ['x-internal'], set: [['server', 'wasmesh']], add: [['x-added', 'yes']] }));
    expect(filtered(head, [edits])).toEqual([['server', 'wasmesh'], ['x-added', 'yes']]);
    expect(text(filter.statusText(parser))).toBe('503 Service Unavailable');
  });

  test('status text without a reason-phrase is the 3-digit code', () => {
    filtered('HTTP/1.1 204\r\n\r\n');
    expect(text(filter.statusText(parser))).toBe('204');
  });

  test('more pairs than the initial table: the table grows', () => {
    let head = 'HTTP/1.1 200 OK\r\n';
    for (let i = 0; i < 100; i++) head += `X-${i}: ${i}\r\n`;
    head += '\r\n';
    const adds = new EditList(core, ops({ add: Array.from({ length: 40 }, (_, i): [string, string] => [`y-${i}`, String(i)]) }));
    const out = filtered(head, [adds]);
    expect(out).toHaveLength(140);
    expect(out[139]).toEqual(['y-39', '39']);
  });
});
