// The HTTP/2 frame scanner in the core: each frame type's fields, every §6 check with the
// RFC 9113 error code and scope it maps to, the size limits, the CONTINUATION sequence, and
// input split at every byte (Incomplete until the frame is whole, then the same answer).
import { describe, test, expect } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import {
  FrameScanner, FRAME_DATA, FRAME_HEADERS, FRAME_PRIORITY, FRAME_RST_STREAM, FRAME_SETTINGS, FRAME_PUSH_PROMISE,
  FRAME_PING, FRAME_GOAWAY, FRAME_WINDOW_UPDATE, FRAME_CONTINUATION, FLAG_END_HEADERS, FLAG_PADDED, FLAG_PRIORITY, FLAG_ACK,
  FLAG_END_STREAM, type FrameScannerOptions,
} from '../../../host/core/h2/frame-scanner.js';
import { h2StatusEntry, H2_OK, H2_INCOMPLETE } from '../../../host/core/h2/h2-status.js';

let core: Core | undefined;
const testCore = (): Core => (core ??= new Core());
const code = (status: number): string => h2StatusEntry(status).code;

function frame(type: number, flags: number, stream: number, payload: Uint8Array | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, p]);
}
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const setting = (id: number, v: number): number[] => [id >> 8, id & 0xff, ...u32(v)];
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function scanner(bytes: Uint8Array, options?: FrameScannerOptions): FrameScanner {
  const s = new FrameScanner(testCore(), options);
  s.push(bytes);
  return s;
}

describe('preface', () => {
  test('the client preface is consumed; a prefix is incomplete; a wrong byte fails', () => {
    const s = scanner(PREFACE.subarray(0, 10));
    expect(s.readPreface()).toBe(H2_INCOMPLETE);
    s.push(PREFACE.subarray(10));
    expect(s.readPreface()).toBe(H2_OK);
    expect(s.buffered).toBe(0);
    const bad = scanner(Buffer.from('GET / HTTP/1.1\r\n'));
    const st = bad.readPreface();
    expect(code(st)).toBe('bad_preface');
    expect(h2StatusEntry(st)).toMatchObject({ errorCode: 1, scope: 'connection' });
  });
});

describe('frames and their fields', () => {
  test('DATA, padded: the payload excludes the pad length and padding', () => {
    const s = scanner(frame(FRAME_DATA, FLAG_PADDED | FLAG_END_STREAM, 1, [2, 104, 105, 0, 0]));
    expect(s.next()).toBe(H2_OK);
    expect([s.type, s.flags, s.streamId, s.length]).toEqual([FRAME_DATA, FLAG_PADDED | FLAG_END_STREAM, 1, 5]);
    expect(Buffer.from(s.payload()).toString()).toBe('hi');
  });

  test('copyPayload: the payload (short and long) in a Buffer of its own, unchanged when the region is read again', () => {
    const long = Buffer.alloc(300);
    for (let i = 0; i < long.length; i++) long[i] = i & 0xff;
    const s = scanner(Buffer.concat([frame(FRAME_DATA, FLAG_PADDED, 1, [2, 104, 105, 0, 0]), frame(FRAME_DATA, 0, 3, long)]));
    expect(s.next()).toBe(H2_OK);
    const short = s.copyPayload();
    expect(s.next()).toBe(H2_OK);
    const copy = s.copyPayload();
    s.push(Buffer.alloc(400, 0xee)); // the read region is reused: payload() views would change
    expect(short.toString()).toBe('hi');
    expect(copy.equals(long)).toBe(true);
  });

  test('HEADERS with PADDED and PRIORITY: dependency, weight, exclusive bit, block payload', () => {
    const s = scanner(frame(FRAME_HEADERS, FLAG_PADDED | FLAG_PRIORITY | FLAG_END_HEADERS, 3, [1, ...u32(0x80000001), 15, 0x82, 0]));
    expect(s.next()).toBe(H2_OK);
    expect([s.value0, s.value1]).toEqual([1, 15 | 256]);
    expect([...s.payload()]).toEqual([0x82]);
    expect(s.openBlockStream).toBe(0);
  });

  test('SETTINGS pairs, PING, GOAWAY, WINDOW_UPDATE, RST_STREAM, PRIORITY, an unknown type', () => {
    const bytes = Buffer.concat([
      frame(FRAME_SETTINGS, 0, 0, [...setting(1, 4096), ...setting(4, 65535)]),
      frame(FRAME_PING, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]),
      frame(FRAME_GOAWAY, 0, 0, [...u32(7), ...u32(2), 100, 101]),
      frame(FRAME_WINDOW_UPDATE, 0, 0, u32(1000)),
      frame(FRAME_RST_STREAM, 0, 5, u32(8)),
      frame(FRAME_PRIORITY, 0, 5, [...u32(3), 200]),
      frame(0xfa, 0xff, 9, [1, 2, 3]),
    ]);
    const s = scanner(bytes);
    expect(s.next()).toBe(H2_OK);
    expect(s.settings()).toEqual([[1, 4096], [4, 65535]]);
    expect(s.value0).toBe(2);
    expect(s.next()).toBe(H2_OK);
    expect([...s.payload()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(s.next()).toBe(H2_OK);
    expect([s.value1, s.value0, Buffer.from(s.payload()).toString()]).toEqual([7, 2, 'de']);
    expect(s.next()).toBe(H2_OK);
    expect(s.value0).toBe(1000);
    expect(s.next()).toBe(H2_OK);
    expect([s.streamId, s.value0]).toEqual([5, 8]);
    expect(s.next()).toBe(H2_OK);
    expect([s.value0, s.value1]).toEqual([3, 200]);
    expect(s.next()).toBe(H2_OK);
    expect(s.type).toBe(0xfa);
    expect(s.next()).toBe(H2_INCOMPLETE);
  });

  test('HEADERS + CONTINUATION: the block stays open until END_HEADERS', () => {
    const s = scanner(Buffer.concat([
      frame(FRAME_HEADERS, 0, 1, [0x82]),
      frame(FRAME_CONTINUATION, 0, 1, [0x86]),
      frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, [0x84]),
    ]));
    expect(s.next()).toBe(H2_OK);
    expect(s.openBlockStream).toBe(1);
    expect(s.next()).toBe(H2_OK);
    expect(s.next()).toBe(H2_OK);
    expect([s.openBlockStream, s.blockBytes]).toEqual([0, 3]);
  });

  test('every split of a frame sequence is incomplete until each frame is whole', () => {
    const bytes = Buffer.concat([
      frame(FRAME_SETTINGS, 0, 0, setting(3, 100)),
      frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, [0x82, 0x86]),
      frame(FRAME_DATA, FLAG_END_STREAM, 1, [1, 2, 3]),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const s = scanner(bytes.subarray(0, cut));
      const types: number[] = [];
      let st: number;
      while ((st = s.next()) === H2_OK) types.push(s.type);
      expect(st).toBe(H2_INCOMPLETE);
      s.push(bytes.subarray(cut));
      while ((st = s.next()) === H2_OK) types.push(s.type);
      expect(st).toBe(H2_INCOMPLETE);
      expect(types).toEqual([FRAME_SETTINGS, FRAME_HEADERS, FRAME_DATA]);
    }
  });
});

describe('errors (RFC 9113 §6)', () => {
  const cases: Array<[string, Buffer, string, number, 'connection' | 'stream', FrameScannerOptions?]> = [
    ['a frame over SETTINGS_MAX_FRAME_SIZE (fails on the 9-byte header)', frame(FRAME_DATA, 0, 1, new Uint8Array(16385)).subarray(0, 9), 'frame_too_large', 6, 'connection'],
    ['a frame over a raised limit', frame(FRAME_DATA, 0, 1, new Uint8Array(20001)), 'frame_too_large', 6, 'connection', { maxFrameSize: 20000 }],
    ['DATA on stream 0', frame(FRAME_DATA, 0, 0, [1]), 'bad_stream_id', 1, 'connection'],
    ['HEADERS on stream 0', frame(FRAME_HEADERS, FLAG_END_HEADERS, 0, [0x82]), 'bad_stream_id', 1, 'connection'],
    ['SETTINGS on a stream', frame(FRAME_SETTINGS, 0, 1), 'bad_stream_id', 1, 'connection'],
    ['PING on a stream', frame(FRAME_PING, 0, 1, new Uint8Array(8)), 'bad_stream_id', 1, 'connection'],
    ['GOAWAY on a stream', frame(FRAME_GOAWAY, 0, 1, new Uint8Array(8)), 'bad_stream_id', 1, 'connection'],
    ['RST_STREAM on stream 0', frame(FRAME_RST_STREAM, 0, 0, u32(0)), 'bad_stream_id', 1, 'connection'],
    ['CONTINUATION on stream 0', frame(FRAME_CONTINUATION, 0, 0, [1]), 'bad_stream_id', 1, 'connection'],
    ['DATA padding as long as the payload', frame(FRAME_DATA, FLAG_PADDED, 1, [4, 0, 0, 0]), 'bad_padding', 1, 'connection'],
    ['HEADERS padding past the payload', frame(FRAME_HEADERS, FLAG_PADDED | FLAG_END_HEADERS, 1, [9, 0x82]), 'bad_padding', 1, 'connection'],
    ['padded DATA with no pad length', frame(FRAME_DATA, FLAG_PADDED, 1), 'bad_frame_length', 6, 'connection'],
    ['HEADERS with PRIORITY but 4 bytes', frame(FRAME_HEADERS, FLAG_PRIORITY | FLAG_END_HEADERS, 1, [0, 0, 0, 3]), 'bad_frame_length', 6, 'connection'],
    ['SETTINGS not a multiple of 6', frame(FRAME_SETTINGS, 0, 0, [0, 1, 0, 0, 0]), 'bad_frame_length', 6, 'connection'],
    ['SETTINGS ACK with a payload', frame(FRAME_SETTINGS, FLAG_ACK, 0, setting(1, 0)), 'bad_frame_length', 6, 'connection'],
    ['PING of 7 bytes', frame(FRAME_PING, 0, 0, new Uint8Array(7)), 'bad_frame_length', 6, 'connection'],
    ['GOAWAY of 7 bytes', frame(FRAME_GOAWAY, 0, 0, new Uint8Array(7)), 'bad_frame_length', 6, 'connection'],
    ['WINDOW_UPDATE of 5 bytes', frame(FRAME_WINDOW_UPDATE, 0, 0, new Uint8Array(5)), 'bad_frame_length', 6, 'connection'],
    ['RST_STREAM of 3 bytes', frame(FRAME_RST_STREAM, 0, 1, [0, 0, 0]), 'bad_frame_length', 6, 'connection'],
    ['PRIORITY of 4 bytes', frame(FRAME_PRIORITY, 0, 1, [0, 0, 0, 3]), 'bad_priority_length', 6, 'stream'],
    ['ENABLE_PUSH = 2', frame(FRAME_SETTINGS, 0, 0, setting(2, 2)), 'bad_setting_value', 1, 'connection'],
    ['MAX_FRAME_SIZE below 16384', frame(FRAME_SETTINGS, 0, 0, setting(5, 16383)), 'bad_setting_value', 1, 'connection'],
    ['MAX_FRAME_SIZE above 2^24-1', frame(FRAME_SETTINGS, 0, 0, setting(5, 16777216)), 'bad_setting_value', 1, 'connection'],
    ['INITIAL_WINDOW_SIZE above 2^31-1', frame(FRAME_SETTINGS, 0, 0, setting(4, 0x80000000)), 'bad_initial_window', 3, 'connection'],
    ['a WINDOW_UPDATE of 0 on a stream', frame(FRAME_WINDOW_UPDATE, 0, 1, u32(0)), 'zero_window_increment', 1, 'stream'],
    ['a stream depending on itself (PRIORITY)', frame(FRAME_PRIORITY, 0, 3, [...u32(3), 1]), 'self_dependency', 1, 'stream'],
    ['a stream depending on itself (HEADERS)', frame(FRAME_HEADERS, FLAG_PRIORITY | FLAG_END_HEADERS, 3, [...u32(3), 1, 0x82]), 'self_dependency', 1, 'stream'],
    ['CONTINUATION with no open block', frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, [0x82]), 'unexpected_continuation', 1, 'connection'],
    ['PUSH_PROMISE sent to a server', frame(FRAME_PUSH_PROMISE, FLAG_END_HEADERS, 1, [...u32(2), 0x82]), 'push_to_server', 1, 'connection'],
    ['a header block over the limit', frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, new Uint8Array(101)), 'header_block_too_large', 0xb, 'connection', { maxHeaderBlock: 100 }],
  ];
  for (const [what, bytes, want, errorCode, scope, options] of cases) {
    test(`${what}: ${want}`, () => {
      const st = scanner(bytes, options).next();
      expect(code(st)).toBe(want);
      expect(h2StatusEntry(st)).toMatchObject({ errorCode, scope });
    });
  }

  test('a frame other than CONTINUATION inside an open header block', () => {
    const s = scanner(Buffer.concat([frame(FRAME_HEADERS, 0, 1, [0x82]), frame(FRAME_DATA, 0, 1, [1])]));
    expect(s.next()).toBe(H2_OK);
    expect(code(s.next())).toBe('expected_continuation');
  });

  test('a CONTINUATION on another stream than the open block', () => {
    const s = scanner(Buffer.concat([frame(FRAME_HEADERS, 0, 1, [0x82]), frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, [0x84])]));
    expect(s.next()).toBe(H2_OK);
    expect(code(s.next())).toBe('expected_continuation');
  });

  test('CONTINUATION frames that take the block over the limit', () => {
    const s = scanner(Buffer.concat([
      frame(FRAME_HEADERS, 0, 1, new Uint8Array(60)),
      frame(FRAME_CONTINUATION, 0, 1, new Uint8Array(40)),
      frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 1, new Uint8Array(1)),
    ]), { maxHeaderBlock: 100 });
    expect(s.next()).toBe(H2_OK);
    expect(s.next()).toBe(H2_OK);
    expect(code(s.next())).toBe('header_block_too_large');
  });

  test('a client scanner accepts PUSH_PROMISE and reports the promised stream', () => {
    const s = scanner(frame(FRAME_PUSH_PROMISE, FLAG_END_HEADERS, 1, [...u32(2), 0x82]), { server: false });
    expect(s.next()).toBe(H2_OK);
    expect([s.value0, ...s.payload()]).toEqual([2, 0x82]);
  });
});
