// The core codec's HTTP/2 listener against RFC 9113 at the frame level, h2spec-style (there is no
// h2spec binary here): a raw client writes frames a test composes and reads every frame back.
// Connection setup (SETTINGS/ACK, PING), stream states (§5.1), frame and header block rules
// (§4, §6.10), flow control both ways (§5.2, §6.9), malformed requests (§8.1.1–§8.3), limits
// (concurrent streams, header list), trailers, RST_STREAM, GOAWAY and drain, idle timeouts;
// each error with the code the RFC names and the scope (GOAWAY vs RST_STREAM).
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import type { Downstream, DownstreamHandler } from '../../../host/listener/downstream.js';
import { BodyMode } from '../../../host/listener/downstream.js';
import {
  startWireRig, frame, settings, u32, GET, POST, type WireRig, type WireClient,
  DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, WINDOW_UPDATE, CONTINUATION, END_STREAM, ACK, END_HEADERS, PADDED,
  NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, COMPRESSION_ERROR,
  core,
} from './h2-wire.js';
import { requestViewOf, RV_HEADERS, RV_HEADER_COUNT, RV_HEADER_ENTRY } from '../../../host/core/request-view.js';
import { ENVOY_FLOOD_LIMITS } from '../../../host/core/h2/h2-flood-guard.js';
import { TrailerBlock } from '../../../host/common/trailer-block.js';

let rig: WireRig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

interface Seen { ds: Downstream; body: number; ended: boolean; aborted: boolean; writable: number; idle: number }

/**
 * The test application: `/ok` answers "ok"; `/echo` answers the body length once read; `/big/<n>`
 * streams n bytes honouring write() → onWritable; `/trailers` answers a body then trailers;
 * `/hold` never answers; `/pause` pauses its body after the first chunk, `/stall` before any.
 */
function app(seen: Seen[]) {
  return (ds: Downstream): void => {
    const s: Seen = { ds, body: 0, ended: false, aborted: false, writable: 0, idle: 0 };
    seen.push(s);
    if (ds.protocolError !== null) {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      ds.reply(String(ds.protocolError.status), [], ds.protocolError.code);
      return;
    }
    const big = /^\/big\/(\d+)$/.exec(ds.path);
    let left = big ? Number(big[1]) : 0;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, 16_384);
        left -= n;
        if (!ds.write(Buffer.alloc(n, 0x61))) return;
      }
      ds.end();
    };
    const h: DownstreamHandler = {
      onBodyData(chunk, last) {
        s.body += chunk.length;
        if (ds.path === '/pause' && s.body === chunk.length && chunk.length > 0) ds.pauseBody(); // once, after the first piece
        if (last) {
          s.ended = true;
          if (ds.path === '/echo') ds.reply('200', [], String(s.body));
        }
      },
      onAborted() { s.aborted = true; },
      onWritable() { s.writable++; if (big) pump(); },
      onResponseComplete() {},
      onIdleTimeout() { s.idle++; ds.reply('408', [], 'idle'); },
    };
    ds.attach(h, true);
    if (ds.path === '/stall') ds.pauseBody();
    if (ds.path === '/ok') ds.reply('200', [['x-app', 'yes']], 'ok');
    else if (big) {
      ds.writeHead(200, { emitHead(sink) { sink.status('OK'); sink.header('content-type', 'application/octet-stream'); } }, BodyMode.Stream);
      pump();
    } else if (ds.path === '/trailers') {
      ds.writeHead(200, { emitHead(sink) { sink.status('OK'); sink.header('content-type', 'application/grpc'); } }, BodyMode.Stream);
      ds.write(Buffer.from('msg'));
      ds.end(['grpc-status', '0', 'grpc-message', 'fine']);
    }
  };
}

/** The debug data of the GOAWAY the client received (the stable reason). */
function debugOf(c: WireClient): string {
  return c.frames.find((f) => f.type === 0x7)!.payload.subarray(8).toString('latin1');
}

async function ready(c: WireClient): Promise<void> {
  await c.until((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
}

describe('core HTTP/2 listener: connection setup (§3.4, §6.5, §6.7)', () => {
  it('answers the preface with its SETTINGS (Envoy defaults), a connection WINDOW_UPDATE and an ACK of the client SETTINGS', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const s = c.frames[0]!;
    expect(s.type).toBe(SETTINGS);
    const pairs = new Map<number, number>();
    for (let i = 0; i < s.payload.length; i += 6) pairs.set(s.payload.readUInt16BE(i), s.payload.readUInt32BE(i + 2));
    expect(pairs.get(3)).toBe(2_147_483_647); // MAX_CONCURRENT_STREAMS: Envoy's default
    expect(pairs.get(2)).toBe(0);
    expect(pairs.get(4)).toBe(1024 * 1024);
    expect(pairs.get(6)).toBe(60 * 1024);
    expect(pairs.get(8)).toBe(1); // ENABLE_CONNECT_PROTOCOL (RFC 8441)
    const wu = c.frames.find((f) => f.type === WINDOW_UPDATE && f.stream === 0)!;
    expect(wu.payload.readUInt32BE(0)).toBe(16 * 1024 * 1024 - 65_535);
  });

  it('PING is answered with an ACK carrying the same 8 bytes; a PING ACK is not answered', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(frame(PING, 0, 0, Buffer.from('12345678')), frame(PING, ACK, 0, Buffer.from('abcdefgh')));
    const f = await c.until((x) => x.type === PING);
    expect(f!.flags & ACK).toBe(ACK);
    expect(f!.payload.toString()).toBe('12345678');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames.filter((x) => x.type === PING)).toHaveLength(1);
  });

  it('a preface not followed by SETTINGS is a connection error PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect(frame(PING, 0, 0, Buffer.alloc(8)));
    expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
    expect(rig.stats.get('downstream_cx_protocol_error')).toBe(1);
  });

  it('a SETTINGS frame on a stream, a bad ENABLE_PUSH, a SETTINGS ACK with a payload: connection errors', async () => {
    for (const [bad, code] of [
      [frame(SETTINGS, 0, 1), PROTOCOL_ERROR],
      [settings([[2, 2]]), PROTOCOL_ERROR],
      [frame(SETTINGS, ACK, 0, Buffer.alloc(6)), FRAME_SIZE_ERROR],
      [settings([[4, 0x80000000]]), FLOW_CONTROL_ERROR],
      [settings([[5, 100]]), PROTOCOL_ERROR],
    ] as const) {
      rig = await startWireRig(app([]));
      const c = await rig.connect();
      c.write(bad);
      expect((await c.goaway()).code).toBe(code);
      await rig.close();
      rig = null;
    }
  });
});

describe('core HTTP/2 listener: requests and responses', () => {
  it('GET: HEADERS then DATA with END_STREAM; the app sees method, path, Host from :authority', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/ok', [['x-a', '1'], ['cookie', 'a=1'], ['cookie', 'b=2']])));
    const r = await c.response(1);
    expect(r.status).toBe('200');
    expect(r.fields).toContainEqual(['x-app', 'yes']);
    expect(r.fields).toContainEqual(['content-length', '2']);
    expect(r.body.toString()).toBe('ok');
    const ds = seen[0]!.ds;
    expect([ds.method, ds.path, ds.authority, ds.protocol]).toEqual(['GET', '/ok', 'svc.test', 'HTTP/2']);
    expect(ds.headers).toEqual(['host', 'svc.test', 'x-a', '1', 'cookie', 'a=1; b=2']);
  });

  it('the request view is filled from the decoded list in the turn the request arrived, as from its strings; not after another block, nor when the fields were reshaped', async () => {
    /** The view's fields (name, value, …) as the core reads them. */
    const viewFields = (): string[] => {
      const view = requestViewOf(core);
      const u8 = core.u8;
      const w = core.u32;
      const text = (ptr: number, len: number): string => Buffer.from(u8.subarray(ptr, ptr + len)).toString('latin1');
      const out: string[] = [];
      for (let i = 0, n = w[(view.base + RV_HEADER_COUNT) >>> 2]!; i < n; i++) {
        const e = (view.base + RV_HEADERS + i * RV_HEADER_ENTRY) >>> 2;
        out.push(text(w[e]!, w[e + 1]!), text(w[e + 2]!, w[e + 3]!));
      }
      return out;
    };
    const fill = (ds: Downstream, count = ds.headers.length / 2): false | null | string => {
      const view = requestViewOf(core);
      view.begin(ds.method, ds.path, ds.authority);
      return ds.fillRequestView!(view, count);
    };
    const now: Array<{ ds: Downstream; filled: false | null | string; fields: string[]; leading: string[] }> = [];
    const inner = app([]);
    rig = await startWireRig((ds) => {
      const filled = fill(ds);
      const fields = filled === null ? viewFields() : [];
      // Fewer than all, in the same turn: the leading fields only (a filter replaced a later one).
      const leading = filled === null && fill(ds, 2) === null ? viewFields() : [];
      now.push({ ds, filled, fields, leading });
      inner(ds);
    });
    const c = await rig.connect();
    c.write(
      c.headers(1, GET('/ok', [['x-a', '1'], ['user-agent', 'caf\u00e9']])),
      c.headers(3, GET('/ok', [['x-b', '2'], ['cookie', 'a=1'], ['cookie', 'b=2']])),
      c.headers(5, GET('/ok', [['host', 'other.test'], ['x-c', '3']])),
    );
    await c.response(5);
    expect(now.map((n) => n.filled)).toEqual([null, false, false]);
    expect(now[0]!.fields).toEqual(['host', 'svc.test', 'x-a', '1', 'user-agent', 'caf\u00e9']);
    expect(now[0]!.fields).toEqual(now[0]!.ds.headers);
    expect(now[0]!.leading).toEqual(['host', 'svc.test', 'x-a', '1']);
    expect(fill(now[0]!.ds, 2)).toBe(false); // blocks 3 and 5 were decoded since
    // Later: not at all once any block was decoded on the core since (the decoded list and its
    // byte area are the core's, core/h2/hpack-scratch.ts: here the client's decoder, on the same
    // core, decoded the response), nor after the next read (even one with no header block: its
    // bytes go where the block was decoded from in place).
    c.write(c.headers(7, GET('/ok', [['x-d', '4'], ['x-e', '5']])));
    await c.response(7);
    expect(now[3]!.filled).toBeNull();
    expect(now[3]!.fields).toEqual(['host', 'svc.test', 'x-d', '4', 'x-e', '5']);
    expect(now[3]!.leading).toEqual(['host', 'svc.test', 'x-d', '4']);
    expect(fill(now[3]!.ds)).toBe(false);
    c.write(frame(PING, 0, 0, Buffer.alloc(8)));
    await c.until((f) => f.type === PING && (f.flags & ACK) !== 0);
    expect(fill(now[3]!.ds)).toBe(false);
  });

  it('a header block over HEADERS + CONTINUATION + CONTINUATION is one request', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    const block = c.encoder.encode(GET('/ok', [['x-long', 'v'.repeat(3000)]]));
    c.write(frame(HEADERS, END_STREAM, 1, block.subarray(0, 10)), frame(CONTINUATION, 0, 1, block.subarray(10, 1000)), frame(CONTINUATION, END_HEADERS, 1, block.subarray(1000)));
    expect((await c.response(1)).status).toBe('200');
  });

  it('a frame of another stream inside a header block is a connection error PROTOCOL_ERROR (§6.10)', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    const block = c.encoder.encode(GET('/ok'));
    c.write(frame(HEADERS, END_STREAM, 1, block.subarray(0, 5)), frame(PING, 0, 0, Buffer.alloc(8)));
    expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
  });

  it('a CONTINUATION without a header block open is a connection error PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(frame(CONTINUATION, END_HEADERS, 1, Buffer.from([0x82])));
    expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
  });

  it('request body and trailers (HEADERS with END_STREAM after DATA) reach the app; padding is not body', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    const padded = Buffer.concat([Buffer.from([4]), Buffer.from('hello'), Buffer.alloc(4)]);
    c.write(c.headers(1, POST('/echo'), 0), frame(DATA, PADDED, 1, padded), frame(DATA, 0, 1, Buffer.from(' world')), c.headers(1, [['x-trailer', 'yes']], END_STREAM));
    const r = await c.response(1);
    expect(r.body.toString()).toBe('11');
    expect(seen[0]!.ended).toBe(true);
  });

  it('request trailers without END_STREAM, or with a pseudo-header, reset the stream PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, POST('/hold'), 0), c.headers(1, [['x-t', '1']], 0));
    expect(await c.rst(1)).toBe(PROTOCOL_ERROR);
    c.write(c.headers(3, POST('/hold'), 0), c.headers(3, [[':path', '/x']], END_STREAM));
    expect(await c.rst(3)).toBe(PROTOCOL_ERROR);
    c.write(c.headers(5, GET('/ok')));
    expect((await c.response(5)).status).toBe('200');
  });

  it('response trailers to a te: trailers client (gRPC): HEADERS, DATA, HEADERS with END_STREAM', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, POST('/trailers', [['te', 'trailers'], ['content-type', 'application/grpc']])));
    const r = await c.response(1);
    expect(r.body.toString()).toBe('msg');
    expect(r.trailers).toEqual([['grpc-status', '0'], ['grpc-message', 'fine']]);
    const last = c.frames.filter((f) => f.stream === 1).at(-1)!;
    expect([last.type, last.flags & END_STREAM]).toEqual([HEADERS, END_STREAM]);
  });

  it('response trailers given as bytes (a TrailerBlock from a core upstream): encoded from their spans, names lower-cased; connection-specific fields dropped as from strings', async () => {
    const blockOf = (fields: Array<[string, string]>): TrailerBlock => {
      const ends: number[] = [];
      let at = 0;
      for (const [n, v] of fields) ends.push((at += n.length), (at += v.length));
      return new TrailerBlock(Buffer.from(fields.map(([n, v]) => n + v).join(''), 'latin1'), ends);
    };
    rig = await startWireRig((ds) => {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      ds.writeHead(200, { emitHead(sink) { sink.status('OK'); sink.header('content-type', 'application/grpc'); } }, BodyMode.Stream);
      ds.write(Buffer.from('msg'));
      ds.end(ds.path === '/plain'
        ? blockOf([['Grpc-Status', '7'], ['grpc-message', 'denied']])
        : blockOf([['grpc-status', '0'], ['Connection', 'close'], ['te', 'x'], ['x-kept', 'yes']]));
    });
    const c = await rig.connect();
    c.write(c.headers(1, POST('/plain', [['te', 'trailers'], ['content-type', 'application/grpc']])));
    expect((await c.response(1)).trailers).toEqual([['grpc-status', '7'], ['grpc-message', 'denied']]);
    c.write(c.headers(3, POST('/hop', [['te', 'trailers'], ['content-type', 'application/grpc']])));
    expect((await c.response(3)).trailers).toEqual([['grpc-status', '0'], ['x-kept', 'yes']]);
  });

  it("a body's last write and its end in one turn: one DATA frame with END_STREAM (no empty DATA after it); an end in a later turn: an empty one", async () => {
    rig = await startWireRig((ds) => {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      ds.writeHead(200, { emitHead(sink) { sink.status('OK'); } }, BodyMode.Stream);
      ds.write(Buffer.from('part'));
      if (ds.path === '/now') ds.end();
      else setTimeout(() => ds.end(), 20);
    });
    const c = await rig.connect();
    const dataOf = (stream: number): Array<[string, number]> => c.frames.filter((f) => f.stream === stream && f.type === DATA).map((f) => [f.payload.toString(), f.flags & END_STREAM]);
    c.write(c.headers(1, GET('/now')));
    await c.response(1);
    expect(dataOf(1)).toEqual([['part', END_STREAM]]);
    c.write(c.headers(3, GET('/later')));
    await c.response(3);
    expect(dataOf(3)).toEqual([['part', 0], ['', END_STREAM]]);
  });

  it('a client without te: trailers gets the body ended by DATA END_STREAM and no trailers', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/trailers')));
    const r = await c.response(1);
    expect(r.trailers).toBeNull();
    expect(r.body.toString()).toBe('msg');
  });

  it('writeHead: the head given field by field, as views or strings; names lower-cased; connection-specific fields, pseudo-headers and the source\'s content-length dropped', async () => {
    const view = (t: string): Uint8Array => new Uint8Array(Buffer.from(t, 'latin1'));
    rig = await startWireRig((ds) => {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      ds.writeHead(201, {
        emitHead(sink) {
          sink.status('Created');
          sink.header(view('Content-Type'), view('text/plain'));
          for (const n of ['Connection', 'keep-alive', 'Transfer-Encoding', 'upgrade', 'TE', 'Proxy-Connection', 'content-length', ':path']) sink.header(view(n), view('x'));
          sink.header('X-String', 'S');
          sink.header(view('set-cookie'), view('a=1'));
          sink.header(view('set-cookie'), view('b=2'));
        },
      }, BodyMode.Length, 2);
      ds.write(Buffer.from('ok'));
    });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/')));
    const r = await c.response(1);
    expect(r.status).toBe('201');
    expect(r.fields).toEqual([[':status', '201'], ['content-type', 'text/plain'], ['x-string', 'S'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['content-length', '2']]);
    expect(r.body.toString()).toBe('ok');
  });

  it('writeHead with more fields than a header block holds resets the stream INTERNAL_ERROR; the connection goes on', async () => {
    rig = await startWireRig((ds) => {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      if (ds.path === '/ok') return ds.reply('200', [], 'ok');
      ds.writeHead(200, { emitHead(sink) { for (let i = 0; i < 300; i++) sink.header(`x-${i}`, 'v'); } }, BodyMode.Stream);
    });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/many')));
    expect(await c.rst(1)).toBe(INTERNAL_ERROR);
    c.write(c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
  });

  it('a response block larger than the frame size goes out as HEADERS + CONTINUATION', async () => {
    rig = await startWireRig((ds) => {
      ds.attach({ onBodyData() {}, onAborted() {}, onWritable() {}, onResponseComplete() {} }, false);
      ds.reply('200', [['x-big', 'z'.repeat(40_000)]], 'ok');
    });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/')));
    const r = await c.response(1);
    expect(r.fields.find((f) => f[0] === 'x-big')![1]).toHaveLength(40_000);
  });
});

describe('core HTTP/2 listener: stream states and ids (§5.1)', () => {
  it('an even stream id is a connection error PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(2, GET('/ok')));
    expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
  });

  it('a new stream id lower than one already used is a connection error STREAM_CLOSED', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(5, GET('/ok')));
    await c.response(5);
    c.write(c.headers(3, GET('/ok')));
    const g = await c.goaway();
    expect(g).toEqual({ last: 5, code: STREAM_CLOSED });
  });

  it('DATA, RST_STREAM or WINDOW_UPDATE on an idle stream is a connection error PROTOCOL_ERROR', async () => {
    for (const bad of [frame(DATA, 0, 1, Buffer.from('x')), frame(RST_STREAM, 0, 1, u32(8)), frame(WINDOW_UPDATE, 0, 1, u32(10))]) {
      rig = await startWireRig(app([]));
      const c = await rig.connect();
      c.write(bad);
      expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
      await rig.close();
      rig = null;
    }
  });

  it('DATA after the request ended (half-closed remote) resets the stream STREAM_CLOSED', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')), frame(DATA, 0, 1, Buffer.from('late')));
    expect(await c.rst(1)).toBe(STREAM_CLOSED);
  });

  it('a client RST_STREAM aborts that stream alone; the connection serves the next', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    await c.until(() => seen.length === 1 || false, 200).catch(() => {});
    c.write(frame(RST_STREAM, 0, 1, u32(8)), c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[1]!.aborted).toBe(false);
  });

  it('abort() resets the stream INTERNAL_ERROR, no abort reported back', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    await c.until((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    await new Promise((r) => setTimeout(r, 20));
    seen[0]!.ds.abort();
    expect(await c.rst(1)).toBe(INTERNAL_ERROR);
    expect(seen[0]!.aborted).toBe(false);
  });

  it('unknown frame types and PRIORITY are ignored; PRIORITY on itself resets PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(frame(0x42, 0xff, 0, Buffer.from('whatever')), frame(PRIORITY, 0, 3, Buffer.from([0, 0, 0, 1, 16])), c.headers(1, GET('/ok')));
    expect((await c.response(1)).status).toBe('200');
    c.write(frame(PRIORITY, 0, 5, Buffer.from([0, 0, 0, 5, 16])));
    expect(await c.rst(5)).toBe(PROTOCOL_ERROR);
  });

  it('a frame over SETTINGS_MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, POST('/hold'), 0), frame(DATA, 0, 1, Buffer.alloc(16_385)));
    expect((await c.goaway()).code).toBe(FRAME_SIZE_ERROR);
  });

  it('an HPACK index past the tables is a connection error COMPRESSION_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(frame(HEADERS, END_HEADERS | END_STREAM, 1, Buffer.from([0xff, 0x7f])));
    expect((await c.goaway()).code).toBe(COMPRESSION_ERROR);
  });
});

describe('core HTTP/2 listener: malformed requests (§8.1.1, §8.2, §8.3) reset the stream PROTOCOL_ERROR', () => {
  const cases: Array<[string, Array<[string, string]>]> = [
    ['an upper-case field name', GET('/ok', [['X-Up', '1']]) as Array<[string, string]>],
    ['a connection-specific field', GET('/ok', [['connection', 'close']]) as Array<[string, string]>],
    ['transfer-encoding', GET('/ok', [['transfer-encoding', 'chunked']]) as Array<[string, string]>],
    ['te other than trailers', GET('/ok', [['te', 'gzip']]) as Array<[string, string]>],
    ['no :method', [[':scheme', 'http'], [':path', '/'], [':authority', 'a']]],
    ['no :path', [[':method', 'GET'], [':scheme', 'http'], [':authority', 'a']]],
    ['an empty :path', [[':method', 'GET'], [':scheme', 'http'], [':path', ''], [':authority', 'a']]],
    ['a pseudo-header after a field', [[':method', 'GET'], [':scheme', 'http'], ['x', '1'], [':path', '/']]],
    ['a duplicate :path', [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':path', '/b']]],
    ['a response pseudo-header', [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':status', '200']]],
    ['a value with a line feed', GET('/ok', [['x', 'a\nb']]) as Array<[string, string]>],
    ['a value with leading space', GET('/ok', [['x', ' a']]) as Array<[string, string]>],
    ['CONNECT with :path', [[':method', 'CONNECT'], [':authority', 'a:1'], [':path', '/']]],
  ];
  it.each(cases)('%s', async (_name, fields) => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, fields));
    expect(await c.rst(1)).toBe(PROTOCOL_ERROR);
    c.write(c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
  });

  it('DATA beyond content-length, or END_STREAM short of it, resets PROTOCOL_ERROR', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, POST('/echo', [['content-length', '3']]), 0), frame(DATA, END_STREAM, 1, Buffer.from('four')));
    expect(await c.rst(1)).toBe(PROTOCOL_ERROR);
    c.write(c.headers(3, POST('/echo', [['content-length', '5']]), 0), frame(DATA, END_STREAM, 3, Buffer.from('four')));
    expect(await c.rst(3)).toBe(PROTOCOL_ERROR);
    c.write(c.headers(5, POST('/echo', [['content-length', '4']]), 0), frame(DATA, END_STREAM, 5, Buffer.from('four')));
    expect((await c.response(5)).body.toString()).toBe('4');
  });
});

describe('core HTTP/2 listener: flow control (§5.2, §6.9)', () => {
  it('response DATA stops at the client stream window and goes on after its WINDOW_UPDATE; frames ≤ 16384', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect(settings([[4, 100]]));
    c.write(c.headers(1, GET('/big/40000')));
    await c.until((f) => f.type === DATA && f.stream === 1);
    await new Promise((r) => setTimeout(r, 50));
    const sent = (): number => c.frames.filter((f) => f.type === DATA && f.stream === 1).reduce((a, f) => a + f.payload.length, 0);
    expect(sent()).toBe(100);
    c.write(frame(WINDOW_UPDATE, 0, 1, u32(39_900)));
    const r = await c.response(1);
    expect(r.body.length).toBe(40_000);
    expect(Math.max(...c.frames.filter((f) => f.type === DATA).map((f) => f.payload.length))).toBeLessThanOrEqual(16_384);
  });

  it('the connection window holds every stream; write() says wait and onWritable follows the WINDOW_UPDATE', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/big/300000')));
    await c.until((f) => f.type === DATA && f.stream === 1);
    await new Promise((r) => setTimeout(r, 50));
    const data = (): number => c.frames.filter((f) => f.type === DATA).reduce((a, f) => a + f.payload.length, 0);
    expect(data()).toBe(65_535);
    expect(seen[0]!.writable).toBe(0);
    c.write(frame(WINDOW_UPDATE, 0, 0, u32(1_000_000)), frame(WINDOW_UPDATE, 0, 1, u32(1_000_000)));
    const r = await c.response(1);
    expect(r.body.length).toBe(300_000);
    expect(seen[0]!.writable).toBeGreaterThan(0);
  });

  it('a SETTINGS_INITIAL_WINDOW_SIZE change moves open streams\' windows (down to 0, then up)', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect(settings([[4, 0]]));
    c.write(c.headers(1, GET('/big/1000')));
    await c.until((f) => f.type === HEADERS && f.stream === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames.some((f) => f.type === DATA)).toBe(false);
    c.write(settings([[4, 65_535]]));
    expect((await c.response(1)).body.length).toBe(1000);
  });

  it('WINDOW_UPDATE past 2^31-1: connection error FLOW_CONTROL_ERROR on stream 0, stream error on a stream', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')), frame(WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
    expect(await c.rst(1)).toBe(FLOW_CONTROL_ERROR);
    c.write(frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
    expect((await c.goaway()).code).toBe(FLOW_CONTROL_ERROR);
  });

  it('a zero WINDOW_UPDATE: stream error PROTOCOL_ERROR on a stream, connection error on stream 0', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')), frame(WINDOW_UPDATE, 0, 1, u32(0)));
    expect(await c.rst(1)).toBe(PROTOCOL_ERROR);
    c.write(frame(WINDOW_UPDATE, 0, 0, u32(0)));
    expect((await c.goaway()).code).toBe(PROTOCOL_ERROR);
  });

  it('request DATA past the stream window resets FLOW_CONTROL_ERROR (a stream error)', async () => {
    rig = await startWireRig(app([]), { initialStreamWindowSize: 65_535 });
    const c = await rig.connect();
    const chunk = Buffer.alloc(16_384);
    c.write(c.headers(1, POST('/pause'), 0), ...Array.from({ length: 5 }, () => frame(DATA, 0, 1, chunk)));
    expect(await c.rst(1)).toBe(FLOW_CONTROL_ERROR);
    c.write(c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
  });

  it('request DATA past the connection window (streams paused) is a connection error FLOW_CONTROL_ERROR', async () => {
    rig = await startWireRig(app([]), { initialConnectionWindowSize: 65_535 });
    const c = await rig.connect();
    const chunk = Buffer.alloc(16_384);
    c.write(c.headers(1, POST('/stall'), 0), frame(DATA, 0, 1, chunk), frame(DATA, 0, 1, chunk), c.headers(3, POST('/stall'), 0), frame(DATA, 0, 3, chunk), frame(DATA, 0, 3, chunk));
    expect((await c.goaway()).code).toBe(FLOW_CONTROL_ERROR);
  });

  it('a paused request body gets no stream WINDOW_UPDATE; resuming gives the window back', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen), { initialStreamWindowSize: 65_535 });
    const c = await rig.connect();
    const chunk = Buffer.alloc(16_383);
    c.write(c.headers(1, POST('/pause'), 0), ...Array.from({ length: 4 }, () => frame(DATA, 0, 1, chunk)));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen[0]!.body).toBe(16_383);
    expect(c.frames.some((f) => f.type === WINDOW_UPDATE && f.stream === 1)).toBe(false);
    seen[0]!.ds.resumeBody();
    const wu = await c.until((f) => f.type === WINDOW_UPDATE && f.stream === 1);
    expect(wu!.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(32_768);
    expect(seen[0]!.body).toBe(4 * 16_383);
  });
});

describe('core HTTP/2 listener: limits', () => {
  it('streams past SETTINGS_MAX_CONCURRENT_STREAMS are refused REFUSED_STREAM; the others go on', async () => {
    rig = await startWireRig(app([]), { maxConcurrentStreams: 2 });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')), c.headers(3, GET('/hold')), c.headers(5, GET('/hold')));
    expect(await c.rst(5)).toBe(REFUSED_STREAM);
    c.write(frame(RST_STREAM, 0, 1, u32(8)), c.headers(7, GET('/ok')));
    expect((await c.response(7)).status).toBe('200');
  });

  it('a header list over SETTINGS_MAX_HEADER_LIST_SIZE is answered 431; the HPACK state stays in step', async () => {
    rig = await startWireRig(app([]), { maxHeaderListSize: 1000 });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/ok', [['x-big', 'b'.repeat(2000)]])));
    expect((await c.response(1)).status).toBe('431');
    c.write(c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
  });

  it('more fields than maxRequestHeaders is answered 431', async () => {
    rig = await startWireRig(app([]), { maxRequestHeaders: 5 });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/ok', Array.from({ length: 20 }, (_, i) => [`x-${i}`, 'v'] as [string, string]))));
    expect((await c.response(1)).status).toBe('431');
  });
});

describe('core HTTP/2 listener: GOAWAY, drain and timeouts', () => {
  it('stopAccepting(): GOAWAY NO_ERROR with the last stream id; streams under way finish; later streams ignored; then the socket closes', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    await new Promise((r) => setTimeout(r, 50));
    rig.listener.stopAccepting();
    expect(await c.goaway()).toEqual({ last: 1, code: NO_ERROR });
    expect(rig.stats.get('downstream_cx_drain_close')).toBe(1);
    c.write(c.headers(3, GET('/ok')));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
    seen[0]!.ds.reply('200', [], 'late');
    expect((await c.response(1)).body.toString()).toBe('late');
    await c.until(() => false, 2000).catch(() => {});
    expect(c.closed).toBe(true);
  });

  it('a client GOAWAY: streams under way finish, then the connection closes', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')), frame(0x7, 0, 0, Buffer.concat([u32(1), u32(0)])));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.closed).toBe(false);
    seen[0]!.ds.reply('200', [], 'bye');
    expect((await c.response(1)).body.toString()).toBe('bye');
    await c.until(() => false, 2000).catch(() => {});
    expect(c.closed).toBe(true);
  });

  it('stream idle timeout: the app is told (408 here); connection idle timeout: GOAWAY NO_ERROR', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen), { streamIdleTimeoutMs: 100, idleTimeoutMs: 300 });
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    expect((await c.response(1)).status).toBe('408');
    expect(rig.stats.get('downstream_rq_idle_timeout')).toBe(1);
    expect(await c.goaway()).toEqual({ last: 1, code: NO_ERROR });
    expect(rig.stats.get('downstream_cx_idle_timeout')).toBe(1);
  });

  it('a connection error aborts the streams under way', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const c = await rig.connect();
    c.write(c.headers(1, GET('/hold')));
    await new Promise((r) => setTimeout(r, 50));
    c.write(c.headers(2, GET('/ok')));
    expect(await c.goaway()).toEqual({ last: 1, code: PROTOCOL_ERROR });
    expect(seen[0]!.aborted).toBe(true);
  });
});

describe('core HTTP/2 listener: reads split anywhere (fast-check)', () => {
  it('the same bytes cut at random points (inside frame headers, payloads, header blocks) give the same answers', async () => {
    const seen: Seen[] = [];
    rig = await startWireRig(app(seen));
    const r = rig;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), async (cuts, n) => {
        const c = await r.connect(Buffer.alloc(0));
        // Everything the client sends, composed first, then written in the pieces `cuts` says.
        const parts: Buffer[] = [settings([[4, 1 << 20]])];
        for (let i = 0; i < n; i++) {
          const id = 2 * i + 1;
          const body = Buffer.alloc(37 * (i + 1), 0x30 + i);
          parts.push(c.headers(id, POST('/echo', [['x-n', String(i)], ['x-pad', 'p'.repeat(i * 50)]]), 0));
          parts.push(frame(DATA, 0, id, body.subarray(0, 10)), frame(DATA, PADDED, id, Buffer.concat([Buffer.from([3]), body.subarray(10), Buffer.alloc(3)])));
          parts.push(frame(DATA, END_STREAM, id, Buffer.alloc(0)));
        }
        const all = Buffer.concat(parts);
        let at = 0;
        for (const cut of cuts) {
          if (at >= all.length) break;
          c.write(all.subarray(at, at + cut));
          at += cut;
          await new Promise((res) => setImmediate(res));
        }
        if (at < all.length) c.write(all.subarray(at));
        for (let i = 0; i < n; i++) expect((await c.response(2 * i + 1)).body.toString()).toBe(String(37 * (i + 1)));
        expect(c.frames.some((f) => f.type === 0x7 || f.type === RST_STREAM)).toBe(false);
        c.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe('core HTTP/2 listener: flood limits (Envoy defaults)', () => {
  it('more than 1000 control frames (PING ACKs) queued for a client at once: GOAWAY ENHANCE_YOUR_CALM', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    c.write(Buffer.concat(Array.from({ length: 3000 }, () => ping)));
    expect((await c.goaway()).code).toBe(0xb);
    expect(c.frames.filter((f) => f.type === PING).length).toBeLessThanOrEqual(1000);
    expect(rig.stats.get('http2.outbound_control_flood')).toBe(1);
    expect(rig.stats.get('downstream_cx_protocol_error')).toBe(1);
  });

  it('1000 PINGs read at once are answered (the limit is more than 1000)', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    c.write(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
    await c.until(() => c.frames.filter((f) => f.type === PING).length === 1000);
    expect(c.frames.some((f) => f.type === 0x7)).toBe(false);
  });

  it('two empty DATA frames in a row without END_STREAM: GOAWAY ENHANCE_YOUR_CALM; one is fine', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    c.write(c.headers(1, POST('/echo'), 0), frame(DATA, 0, 1), frame(DATA, 0, 1, Buffer.from('x')), frame(DATA, END_STREAM, 1));
    expect((await c.response(1)).body.toString()).toBe('1');
    c.write(c.headers(3, POST('/echo'), 0), frame(DATA, 0, 3), frame(DATA, 0, 3));
    expect((await c.goaway()).code).toBe(0xb);
    expect(rig.stats.get('http2.inbound_empty_frames_flood')).toBe(1);
  });

  it('more than 10000 frames queued for a client that does not take them (configured to 100 here): outbound_flood', async () => {
    rig = await startWireRig(app([]), { flood: { ...ENVOY_FLOOD_LIMITS, maxOutboundFrames: 100 } });
    const c = await rig.connect();
    await ready(c);
    // 60 answers of HEADERS + DATA, queued in one read: 120 frames.
    c.write(Buffer.concat(Array.from({ length: 60 }, (_, i) => c.headers(2 * i + 1, GET('/ok')))));
    const g = await c.goaway();
    expect(g.code).toBe(0xb);
    expect(debugOf(c)).toBe('outbound_flood');
    expect(rig.stats.get('http2.outbound_flood')).toBe(1);
  });

  it('PRIORITY frames past 100 × (1 + streams opened): inbound_priority_frames_flood; 100 before any stream and 100 more per stream are fine', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const prio = (id: number): Buffer => frame(PRIORITY, 0, id, Buffer.concat([u32(0), Buffer.from([15])]));
    c.write(Buffer.concat(Array.from({ length: 100 }, (_, i) => prio(2 * i + 101))));
    c.write(c.headers(1, GET('/ok')));
    expect((await c.response(1)).status).toBe('200');
    c.write(Buffer.concat(Array.from({ length: 100 }, () => prio(1)))); // 200 with one stream opened
    c.write(c.headers(3, GET('/ok')));
    expect((await c.response(3)).status).toBe('200');
    expect(c.frames.some((f) => f.type === 0x7)).toBe(false);
    c.write(Buffer.concat(Array.from({ length: 101 }, () => prio(3)))); // 301 with two
    expect((await c.goaway()).code).toBe(0xb);
    expect(debugOf(c)).toBe('inbound_priority_frames_flood');
    expect(rig.stats.get('http2.inbound_priority_frames_flood')).toBe(1);
  });

  it('WINDOW_UPDATE frames past 5 + 2 × (streams opened + 10 × DATA frames sent): inbound_window_update_frames_flood', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const wu = (): Buffer => frame(WINDOW_UPDATE, 0, 0, u32(1));
    c.write(Buffer.concat(Array.from({ length: 5 }, wu)));
    c.write(c.headers(1, GET('/ok'))); // one stream; one DATA frame sent ("ok" with END_STREAM): 5 + 2 × (1 + 10 × 1) = 27
    expect((await c.response(1)).status).toBe('200');
    expect(c.frames.filter((f) => f.type === DATA).length).toBe(1);
    c.write(Buffer.concat(Array.from({ length: 22 }, wu)));
    c.write(frame(PING, 0, 0, Buffer.alloc(8, 7)));
    await c.until((f) => f.type === PING && (f.flags & ACK) !== 0 && f.payload[0] === 7);
    expect(c.frames.some((f) => f.type === 0x7)).toBe(false);
    c.write(wu()); // the 28th
    expect((await c.goaway()).code).toBe(0xb);
    expect(debugOf(c)).toBe('inbound_window_update_frames_flood');
    expect(rig.stats.get('http2.inbound_window_update_frames_flood')).toBe(1);
  });
});

describe('core HTTP/2 listener: SETTINGS ACK timeout and PING keepalive', () => {
  it('a client that never ACKs our SETTINGS: GOAWAY SETTINGS_TIMEOUT, http2.settings_timeout', async () => {
    rig = await startWireRig(app([]), { settingsTimeoutMs: 100 });
    const c = await rig.connect();
    const g = await c.goaway();
    expect(g.code).toBe(0x4);
    expect(debugOf(c)).toBe('settings_timeout');
    expect(rig.stats.get('http2.settings_timeout')).toBe(1);
  });

  it('a client that ACKs them is not timed out', async () => {
    rig = await startWireRig(app([]), { settingsTimeoutMs: 100 });
    const c = await rig.connect();
    c.write(frame(SETTINGS, ACK, 0));
    await new Promise((r) => setTimeout(r, 250));
    c.write(c.headers(1, GET('/ok')));
    expect((await c.response(1)).status).toBe('200');
    expect(c.frames.some((f) => f.type === 0x7)).toBe(false);
  });

  it('keepalive (off by default): a client that does not ACK the PING is closed after the timeout, http2.keepalive_timeout; one that does stays', async () => {
    rig = await startWireRig(app([]), { keepalive: { intervalMs: 40, timeoutMs: 100, intervalJitterPercent: 15, connectionIdleIntervalMs: 0 } });
    const silent = await rig.connect();
    const answering = await rig.connect();
    answering.socket.on('data', () => {
      for (const f of answering.frames.splice(0)) if (f.type === PING && (f.flags & ACK) === 0) answering.write(frame(PING, ACK, 0, f.payload));
    });
    await silent.until(() => false, 1000).catch(() => undefined);
    expect(silent.closed).toBe(true);
    expect(rig.stats.get('http2.keepalive_timeout')).toBe(1);
    expect(answering.closed).toBe(false);
  });
});

describe('core HTTP/2 listener: rapid reset (CVE-2023-44487)', () => {
  it('500 streams opened and reset at once by the client: GOAWAY ENHANCE_YOUR_CALM, counted', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    const frames: Buffer[] = [];
    for (let i = 0; i < 600; i++) frames.push(c.headers(2 * i + 1, GET('/hold')), frame(RST_STREAM, 0, 2 * i + 1, u32(8)));
    c.write(Buffer.concat(frames));
    expect(await c.goaway()).toMatchObject({ code: 0xb });
    expect(rig.stats.get('downstream_rq_too_many_premature_resets')).toBe(1);
  });

  it('streams reset after their response ended are not premature: 600 answered, each then reset by the client, the connection goes on', async () => {
    rig = await startWireRig(app([]));
    const c = await rig.connect();
    await ready(c);
    for (let i = 0; i < 600; i += 100) {
      const frames: Buffer[] = [];
      for (let j = i; j < i + 100; j++) frames.push(c.headers(2 * j + 1, GET('/ok')));
      c.write(Buffer.concat(frames));
      await c.response(2 * (i + 99) + 1);
      c.write(Buffer.concat(Array.from({ length: 100 }, (_, k) => frame(RST_STREAM, 0, 2 * (i + k) + 1, u32(8)))));
    }
    c.write(c.headers(1201, GET('/ok')));
    expect((await c.response(1201)).status).toBe('200');
    expect(c.frames.some((f) => f.type === 0x7)).toBe(false);
    expect(rig.stats.get('downstream_rq_too_many_premature_resets')).toBe(0);
  });
});
