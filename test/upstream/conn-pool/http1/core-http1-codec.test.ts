// The core-backed HTTP/1 codec's response fields two ways: as views (`field`) and as spans of
// Wasm memory (`fieldBytes`, what the HTTP/1 listener's head sink takes, no view per field).
// Both must list the same fields, filtered and edited the same way.
import { describe, expect, it } from 'vitest';
import { Core } from '../../../../host/core/wasm.js';
import { EditList } from '../../../../host/core/codec/edit-list.js';
import { noHeaderOps } from '../../../../host/model/mesh.js';
import { CoreHttp1Codec } from '../../../../host/upstream/conn-pool/http1/core-http1-codec.js';

const core = new Core();
const codec = new CoreHttp1Codec(core);

function fields(response: string, edits: EditList, keepContentLength: boolean): { views: string[]; spans: string[]; status: string } {
  const r = codec.parseResponseHead(Buffer.from(response, 'latin1'), false);
  if (r.status !== 'ok') throw new Error(`not parsed: ${JSON.stringify(r)}`);
  const views: string[] = [];
  const spans: string[] = [];
  let status = '';
  r.head.fields.forEachResponseField(edits, keepContentLength, (s) => (status = Buffer.from(s).toString('latin1')),
    (n, v) => views.push(`${Buffer.from(n).toString('latin1')}: ${Buffer.from(v).toString('latin1')}`));
  r.head.fields.forEachResponseField(edits, keepContentLength, () => {}, () => { throw new Error('views given although fieldBytes was'); },
    (mem, ns, ne, vs, ve) => spans.push(`${Buffer.from(mem.subarray(ns, ne)).toString('latin1')}: ${Buffer.from(mem.subarray(vs, ve)).toString('latin1')}`));
  return { views, spans, status };
}

describe('CoreHttp1Codec.forEachResponseField', () => {
  it('gives the same fields as spans of Wasm memory as it does as views', () => {
    const response = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nX-Long: ' + 'v'.repeat(300) + '\r\n' +
      'x-b: \u00e9t\u00e9\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\nhello';
    const noEdits = new EditList(core, noHeaderOps());
    for (const keep of [false, true]) {
      const { views, spans, status } = fields(response, noEdits, keep);
      expect(status).toBe('200 OK');
      expect(spans).toEqual(views);
      // Hop-by-hop fields dropped; content-length only when kept.
      expect(views.map((f) => f.split(':')[0]!.toLowerCase())).toEqual(['content-type', 'x-long', 'x-b', ...(keep ? ['content-length'] : [])]);
      expect(views).toContain('x-b: \u00e9t\u00e9');
    }
  });

  it('applies the route\'s edits the same way on both paths', () => {
    const edits = new EditList(core, { ...noHeaderOps(), set: [['x-set', 'yes']], add: [['x-added', 'a']], remove: ['content-type'] });
    const { views, spans } = fields('HTTP/1.1 404 Not Found\r\nContent-Type: a\r\nX-Set: no\r\ncontent-length: 0\r\n\r\n', edits, false);
    expect(spans).toEqual(views);
    expect(views.join('\n')).toMatch(/x-set: yes/i);
    expect(views.join('\n')).toMatch(/x-added: a/);
    expect(views.join('\n')).not.toMatch(/content-type/i);
  });
});
