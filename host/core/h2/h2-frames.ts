// HTTP/2 frames this side writes (RFC 9113 §4.1, §6): each a Buffer the connection queues for
// its next socket write. DATA goes out as a 9-byte header followed by a view of the body chunk
// (no copy); a header block larger than the peer's SETTINGS_MAX_FRAME_SIZE is split into
// HEADERS + CONTINUATION frames, which the connection queues back to back (§6.10).
import {
  FRAME_DATA, FRAME_HEADERS, FRAME_RST_STREAM, FRAME_SETTINGS, FRAME_PING, FRAME_GOAWAY, FRAME_WINDOW_UPDATE,
  FRAME_CONTINUATION, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM,
} from './frame-scanner.js';

export function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = (length >>> 16) & 0xff;
  b[1] = (length >>> 8) & 0xff;
  b[2] = length & 0xff;
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream & 0x7fffffff, 5);
  return b;
}

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(9 + payload.length);
  b[0] = (payload.length >>> 16) & 0xff;
  b[1] = (payload.length >>> 8) & 0xff;
  b[2] = payload.length & 0xff;
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream & 0x7fffffff, 5);
  b.set(payload, 9);
  return b;
}

export const SETTINGS_ACK: Buffer = frameHeader(0, FRAME_SETTINGS, FLAG_ACK, 0);

/** A SETTINGS frame of [id, value] pairs. */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.allocUnsafe(pairs.length * 6);
  pairs.forEach(([id, value], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return frame(FRAME_SETTINGS, 0, 0, p);
}

export function pingAck(opaque: Uint8Array): Buffer {
  return frame(FRAME_PING, FLAG_ACK, 0, opaque);
}

/** A PING this side sends (keepalive): 8 bytes of opaque data the peer echoes in its ACK. */
export function ping(opaque: Uint8Array): Buffer {
  return frame(FRAME_PING, 0, 0, opaque);
}

export function windowUpdate(stream: number, increment: number): Buffer {
  const b = frameHeader(4, FRAME_WINDOW_UPDATE, 0, stream);
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment & 0x7fffffff, 0);
  return Buffer.concat([b, p]);
}

export function rstStream(stream: number, code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code >>> 0, 0);
  return frame(FRAME_RST_STREAM, 0, stream, p);
}

export function goaway(lastStreamId: number, code: number, debug = ''): Buffer {
  const d = Buffer.from(debug, 'latin1');
  const p = Buffer.allocUnsafe(8 + d.length);
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(code >>> 0, 4);
  d.copy(p, 8);
  return frame(FRAME_GOAWAY, 0, 0, p);
}

/** DATA frame header for `length` payload bytes (the payload follows as its own buffer). */
export function dataHeader(stream: number, length: number, endStream: boolean): Buffer {
  return frameHeader(length, FRAME_DATA, endStream ? FLAG_END_STREAM : 0, stream);
}

/** A header block as HEADERS (+ CONTINUATION) frames of at most `maxFrame` payload bytes. */
export function headerFrames(stream: number, block: Uint8Array, endStream: boolean, maxFrame: number): Buffer[] {
  if (block.length <= maxFrame) return [frame(FRAME_HEADERS, FLAG_END_HEADERS | (endStream ? FLAG_END_STREAM : 0), stream, block)];
  const out: Buffer[] = [frame(FRAME_HEADERS, endStream ? FLAG_END_STREAM : 0, stream, block.subarray(0, maxFrame))];
  for (let at = maxFrame; at < block.length; at += maxFrame) {
    const last = at + maxFrame >= block.length;
    out.push(frame(FRAME_CONTINUATION, last ? FLAG_END_HEADERS : 0, stream, block.subarray(at, Math.min(block.length, at + maxFrame))));
  }
  return out;
}
