// The downstream response head filter through the real binding: hop-by-hop and framing fields
// dropped, Content-Length kept on request, edits applied, the status text, a growing table.
import { describe, test, expect } from 'vitest';
import { ResponseHeadFilter } from '../../../host/core/codec/response-filter.js';
import { HeadParser } from '../../../host/core/codec/head-parser.js';
import { EditList } from '../../../host/core/codec/edit-list.js';
import { STATUS_OK } from '../../../host/core/status.js';
import type { HeaderOps } from '../../../host/model/mesh.js';
import { testCore, bytes, text } from './codec-helpers.js';

const core = testCore();

function ops(o: Partial<HeaderOps>): HeaderOps {
  return { set: o.set ?? [], add: o.add ?? [], remove: o.remove ?? [] };
}

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
