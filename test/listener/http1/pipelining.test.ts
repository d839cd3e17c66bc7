// Pipelined requests through the real listener: every request of one write is answered, in
// order (each response carries the request number the upstream echoes), and reaches the
// upstream exactly once; bodies keep their boundaries; nothing after a refused request is
// processed.
import { describe, it, expect, afterAll } from 'vitest';
import { exchange, forwarded, startRig, HOST, type Rig, type Step } from './wire-harness.js';

const H = `Host: ${HOST}\r\n`;
const get = (n: number | string, path = `/r/${n}`): string => `GET ${path} HTTP/1.1\r\n${H}x-n: ${n}\r\n\r\n`;
const upGet = (n: number | string, path = `/r/${n}`): string => forwarded(`GET ${path} HTTP/1.1`, [`host: ${HOST}`, `x-n: ${n}`]);

const rigs: Rig[] = [];
async function rig(opts: Parameters<typeof startRig>[0] = {}): Promise<Rig> {
  const r = await startRig(opts);
  rigs.push(r);
  return r;
}
afterAll(async () => {
  for (const r of rigs) await r.close();
});

describe('HTTP/1.1 listener: pipelining', () => {
  for (const n of [1, 2, 10, 100]) {
    it(`${n} request${n > 1 ? 's' : ''} in one write: answered in order, each forwarded exactly once`, async () => {
      const r = await rig();
      const numbers = Array.from({ length: n }, (_, i) => i + 1);
      const ex = await exchange(r.proxy.port, [numbers.map((i) => get(i)).join('')], n);
      expect(ex.responses.map((x) => x.status)).toEqual(numbers.map(() => 200));
      expect(ex.responses.map((x) => x.body)).toEqual(numbers.map(String));
      expect(ex.rest).toBe('');
      expect(ex.closedByServer).toBe(false);
      expect(r.upstream.requests.map((x) => x.bytes)).toEqual(numbers.map((i) => upGet(i)));
    });
  }

  it('10 requests written one byte at a time: the same answers and upstream bytes', async () => {
    const r = await rig();
    const numbers = Array.from({ length: 10 }, (_, i) => i + 1);
    const bytes = Buffer.from(numbers.map((i) => get(i)).join(''), 'latin1');
    // A pause after each byte, so that each arrives in a read of its own (heads and bodies
    // split at every offset, answers due while the next request trickles in).
    const steps: Step[] = [];
    for (let i = 0; i < bytes.length; i++) steps.push(bytes.subarray(i, i + 1), { pause: 0 });
    const ex = await exchange(r.proxy.port, steps, 10);
    expect(ex.responses.map((x) => x.body)).toEqual(numbers.map(String));
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual(numbers.map((i) => upGet(i)));
  });

  it('100 requests in 20 writes past a 256-byte read-ahead buffer: reading pauses and resumes, all answered in order', async () => {
    // The upstream takes 3 ms per answer while a write comes every 2 ms: the read-ahead fills.
    const r = await rig({ http1: { pipelineBufferBytes: 256 }, upstreamDelayMs: 3 });
    const numbers = Array.from({ length: 100 }, (_, i) => i + 1);
    const steps: Step[] = [];
    for (let w = 0; w < 20; w++) steps.push(numbers.slice(w * 5, w * 5 + 5).map((i) => get(i)).join(''), { pause: 2 });
    const ex = await exchange(r.proxy.port, steps, 100);
    expect(ex.responses.map((x) => x.body)).toEqual(numbers.map(String));
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual(numbers.map((i) => upGet(i)));
  });

  it('a POST with a Content-Length body, a chunked POST, then a GET: three requests, bodies whole', async () => {
    const r = await rig();
    const send = `POST /a HTTP/1.1\r\n${H}x-n: 1\r\nContent-Length: 11\r\n\r\nhello worldPOST /b HTTP/1.1\r\n${H}x-n: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${get(3)}`;
    const ex = await exchange(r.proxy.port, [send], 3);
    expect(ex.responses.map((x) => [x.status, x.body])).toEqual([[200, '1'], [200, '2'], [200, '3']]);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([
      forwarded('POST /a HTTP/1.1', [`host: ${HOST}`, 'x-n: 1'], 'content-length: 11', 'hello world'),
      forwarded('POST /b HTTP/1.1', [`host: ${HOST}`, 'x-n: 2'], 'transfer-encoding: chunked', '3\r\nabc\r\n0\r\n\r\n'),
      upGet(3),
    ]);
  });

  it('a POST whose body looks like a request, then a GET: the body stays a body', async () => {
    const r = await rig();
    const inner = get('smuggled', '/admin');
    const send = `POST /a HTTP/1.1\r\n${H}x-n: 1\r\nContent-Length: ${inner.length}\r\n\r\n${inner}${get(2)}`;
    const ex = await exchange(r.proxy.port, [send], 2);
    expect(ex.responses.map((x) => x.body)).toEqual(['1', '2']);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([
      forwarded('POST /a HTTP/1.1', [`host: ${HOST}`, 'x-n: 1'], `content-length: ${inner.length}`, inner),
      upGet(2),
    ]);
  });

  it('requests after a refused head are never processed', async () => {
    const r = await rig();
    const send = `${get(1)}GET /bad HTTP/1.1\r\n${H}Content-Length: 1, 2\r\n\r\nx${get(3)}${get(4)}`;
    const ex = await exchange(r.proxy.port, [send], 2, { quietMs: 2000 });
    expect(ex.responses.map((x) => [x.status, x.body])).toEqual([[200, '1'], [400, 'content_length_mismatch']]);
    expect(ex.closedByServer).toBe(true);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([upGet(1)]);
  });

  it('requests after a body refused mid-way are never processed', async () => {
    const r = await rig();
    const send = `${get(1)}POST /bad HTTP/1.1\r\n${H}x-n: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX\r\n0\r\n\r\n${get(3)}`;
    const ex = await exchange(r.proxy.port, [send], 2, { quietMs: 2000 });
    expect(ex.responses.map((x) => [x.status, x.body])).toEqual([[200, '1'], [400, 'missing_chunk_crlf']]);
    expect(ex.closedByServer).toBe(true);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([upGet(1)]);
    // The refused POST's head may have gone upstream before its body went wrong: never whole.
    for (const k of r.upstream.connections) expect(k.leftover === '' || !/\r\n0\r\n\r\n$/.test(k.leftover)).toBe(true);
  });

  it('requests after Connection: close are never processed', async () => {
    const r = await rig();
    const send = `${get(1)}GET /r/2 HTTP/1.1\r\n${H}x-n: 2\r\nConnection: close\r\n\r\n${get(3)}`;
    const ex = await exchange(r.proxy.port, [send], 2, { quietMs: 2000 });
    expect(ex.responses.map((x) => x.body)).toEqual(['1', '2']);
    expect(ex.closedByServer).toBe(true);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([upGet(1), upGet(2)]);
  });
});
