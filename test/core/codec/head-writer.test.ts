// The upstream request head writer through the real binding: edits, hop-by-hop removal,
// Connection-named fields, framing, output too small (the response head filter:
// response-filter.test.ts).
import { describe, test, expect } from 'vitest';
import { RequestHeadWriter, WRITE_FRAMING_NONE, WRITE_FRAMING_LENGTH, WRITE_FRAMING_CHUNKED } from '../../../host/core/codec/head-writer.js';
import { EditList } from '../../../host/core/codec/edit-list.js';
import { RequestView } from '../../../host/core/request-view.js';
import { statusEntry } from '../../../host/core/status.js';
import type { HeaderOps } from '../../../host/model/mesh.js';
import { parseRequestHead } from '../../../host/codec/parse-head.js';
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

  test('heads either side of 1 KiB (copied out by a loop up to it, by a view past it) come out whole', () => {
    const line = 'GET / HTTP/1.1\r\nhost: a\r\nx: '.length + 4;
    for (const total of [1020, 1023, 1024, 1025, 1030, 4096]) {
      const v = 'w'.repeat(total - line);
      load('GET', '/', 'a', [['x', v]]);
      const out = write();
      expect(out).toHaveLength(total);
      expect(out).toBe(`GET / HTTP/1.1\r\nhost: a\r\nx: ${v}\r\n\r\n`);
    }
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

  test('writeWith: lines, then the tail\'s, before the blank line, after the framing header; one copy, growing the output for a long tail', () => {
    load('POST', '/u', 'a', [['x', 'y']]);
    const tail = (line: string) => ({
      calls: 0,
      tailLength: () => line.length,
      writeTail(out: Uint8Array, at: number): number {
        this.calls++;
        for (let i = 0; i < line.length; i++) out[at + i] = line.charCodeAt(i);
        return at + line.length;
      },
    });
    const t = tail('x-b3-traceid: 0af7651916cd43dd8448eb211c80319c\r\n');
    expect(text(writer.writeWith(view, [], WRITE_FRAMING_LENGTH, 3, undefined, 'upgrade: websocket\r\n', t))).toBe(
      'POST /u HTTP/1.1\r\nhost: a\r\nx: y\r\ncontent-length: 3\r\nupgrade: websocket\r\nx-b3-traceid: 0af7651916cd43dd8448eb211c80319c\r\n\r\n');
    expect(t.calls).toBe(1);
    expect(text(writer.writeWith(view, [], WRITE_FRAMING_NONE, 0, undefined, '', null))).toBe(write());
    const long = tail(`tracestate: ${'k=v,'.repeat(3000)}\r\n`);
    const head = text(writer.writeWith(view, [], WRITE_FRAMING_NONE, 0, undefined, '', long));
    expect(head.startsWith('POST /u HTTP/1.1\r\nhost: a\r\nx: y\r\ntracestate: k=v,')).toBe(true);
    expect(head.endsWith('k=v,\r\n\r\n')).toBe(true);
    expect(head.length).toBe(write().length + long.tailLength());
  });

  test('writeWith: a tail that writes another length than it announced is refused', () => {
    load('GET', '/', 'a', []);
    const liar = { tailLength: () => 10, writeTail: (_out: Uint8Array, at: number) => at + 4 };
    expect(() => writer.writeWith(view, [], WRITE_FRAMING_NONE, 0, undefined, '', liar)).toThrow(/took 4 bytes, not the 10 announced/);
  });
});
