// Differential test against nghttp2 (Node's http2): a node:http2 client sends requests over a
// real loopback socket to a raw net server that reads them with the core's frame scanner and
// HPACK decoder; the decoded header lists must equal what the client sent. The server answers
// with header blocks from the core's encoder, which nghttp2 must decode to the same fields,
// over one connection so that both dynamic tables are exercised across blocks.
import { describe, test, expect, afterAll } from 'vitest';
import net from 'node:net';
import http2 from 'node:http2';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import {
  FrameScanner, FRAME_HEADERS, FRAME_SETTINGS, FRAME_CONTINUATION, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
} from '../../../host/core/h2/frame-scanner.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../host/core/h2/hpack.js';
import { h2StatusEntry, H2_OK, H2_INCOMPLETE } from '../../../host/core/h2/h2-status.js';

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

interface Received {
  stream: number;
  headers: Array<[string, string]>;
  neverIndexed: string[];
}

/** A raw h2c server on the core: decodes each request's headers, answers with `respond(request)`. */
function coreServer(respond: (r: Received) => HeaderField[]) {
  const received: Received[] = [];
  const errors: string[] = [];
  const server = net.createServer((socket) => {
    const core = new Core();
    const scanner = new FrameScanner(core);
    const decoder = new HpackDecoder(core);
    const encoder = new HpackEncoder(core);
    let preface = false;
    let block: Buffer[] = [];
    socket.write(frame(FRAME_SETTINGS, 0, 0, new Uint8Array(0)));
    const onBlock = (stream: number, bytes: Buffer | null): void => {
      const st = bytes ? decoder.decode(bytes) : decoder.decodeAt(scanner.payloadPtr, scanner.payloadLength);
      if (st !== H2_OK) { errors.push(h2StatusEntry(st).code); socket.destroy(); return; }
      const r: Received = { stream, headers: decoder.headers(), neverIndexed: [] };
      for (let i = 0; i < decoder.count; i++) if (decoder.neverIndexed(i)) r.neverIndexed.push(decoder.name(i));
      received.push(r);
      socket.write(frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, stream, encoder.encode(respond(r))));
    };
    socket.on('data', (chunk: Buffer) => {
      scanner.push(chunk);
      if (!preface) {
        const st = scanner.readPreface();
        if (st === H2_INCOMPLETE) return;
        if (st !== H2_OK) { errors.push(h2StatusEntry(st).code); socket.destroy(); return; }
        preface = true;
      }
      for (;;) {
        const st = scanner.next();
        if (st === H2_INCOMPLETE) return;
        if (st !== H2_OK) { errors.push(h2StatusEntry(st).code); socket.destroy(); return; }
        if (scanner.type === FRAME_SETTINGS && !(scanner.flags & FLAG_ACK)) socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, new Uint8Array(0)));
        else if (scanner.type === FRAME_HEADERS && scanner.flags & FLAG_END_HEADERS) onBlock(scanner.streamId, null);
        else if (scanner.type === FRAME_HEADERS) block = [Buffer.from(scanner.payload())];
        else if (scanner.type === FRAME_CONTINUATION) {
          block.push(Buffer.from(scanner.payload()));
          if (scanner.flags & FLAG_END_HEADERS) onBlock(scanner.streamId, Buffer.concat(block));
        }
      }
    });
    socket.on('error', () => {});
  });
  return { server, received, errors };
}

const servers: net.Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: true });
    req.on('response', (h) => resolve(h));
    req.on('error', reject);
    req.resume();
  });
}

const sorted = (h: Array<[string, string]>): Array<[string, string]> => [...h].sort((a, b) => (a[0] + '\0' + a[1] < b[0] + '\0' + b[1] ? -1 : 1));

// Header values node accepts: HTAB, SP..~ and obs-text; no leading/trailing whitespace.
const valueChar = fc.oneof(
  fc.integer({ min: 0x21, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x20),
).map((c) => String.fromCharCode(c));
const value = fc.array(valueChar, { minLength: 1, maxLength: 80 }).map((cs) => cs.join('').trim()).filter((v) => v.length > 0);
const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'), minLength: 1, maxLength: 16 }).map((n) => 'x-' + n);
const requestHeaders = fc.dictionary(name, value, { maxKeys: 12 });

describe('differential: node:http2 (nghttp2) ↔ the core', () => {
  test('requests from nghttp2 decode to the headers sent; responses from the core decode in nghttp2', async () => {
    const { server, received, errors } = coreServer((r) => [
      [':status', '200'],
      ['content-type', 'text/plain'],
      ['x-stream', String(r.stream)],
      ['x-echo-count', String(r.headers.length)],
      ['set-cookie', 'a=b; Path=/'],
    ]);
    const port = await listen(server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const samples = fc.sample(requestHeaders, { numRuns: 40, seed: 15 });
    const sent: Array<[string, string]>[] = [];
    try {
      for (let i = 0; i < samples.length; i++) {
        const custom = samples[i];
        const path = `/items/${i}?q=${'z'.repeat(i)}`;
        const h: http2.OutgoingHttpHeaders = { ':method': i % 3 === 0 ? 'POST' : 'GET', ':path': path, 'user-agent': 'differential', ...custom };
        // Repeat earlier custom headers so nghttp2 sends dynamic table references.
        if (i > 0) Object.assign(h, samples[i - 1]);
        const expected: Array<[string, string]> = [[':method', h[':method'] as string], [':path', path], [':scheme', 'http'], [':authority', `127.0.0.1:${port}`]];
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) expected.push([k, String(v)]);
        sent.push(expected);
        const response = await request(session, h);
        expect(response[':status']).toBe(200);
        expect(response['content-type']).toBe('text/plain');
        expect(response['x-stream']).toBe(String(2 * i + 1));
        expect(response['x-echo-count']).toBe(String(expected.length));
        expect(response['set-cookie']).toEqual(['a=b; Path=/']);
      }
    } finally {
      session.close();
    }
    expect(errors).toEqual([]);
    expect(received.length).toBe(samples.length);
    received.forEach((r, i) => expect(sorted(r.headers)).toEqual(sorted(sent[i])));
  });

  test('a header block larger than a frame arrives as HEADERS + CONTINUATION and decodes whole', async () => {
    const { server, received, errors } = coreServer(() => [[':status', '204']]);
    const port = await listen(server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const big = 'v'.repeat(20_000) + Array.from({ length: 5000 }, (_, i) => String.fromCharCode(0x21 + (i % 90))).join('');
    try {
      const response = await request(session, { ':path': '/big', 'x-big': big });
      expect(response[':status']).toBe(204);
    } finally {
      session.close();
    }
    expect(errors).toEqual([]);
    expect(received[0].headers).toContainEqual(['x-big', big]);
  });

  test('a field nghttp2 sends as never indexed is flagged never indexed', async () => {
    const { server, received, errors } = coreServer(() => [[':status', '200']]);
    const port = await listen(server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    try {
      await request(session, { ':path': '/', 'x-secret': 'token-value', 'x-plain': 'p', [http2.sensitiveHeaders]: ['x-secret'] });
    } finally {
      session.close();
    }
    expect(errors).toEqual([]);
    expect(received[0].neverIndexed).toContain('x-secret');
    expect(received[0].neverIndexed).not.toContain('x-plain');
  });
});
