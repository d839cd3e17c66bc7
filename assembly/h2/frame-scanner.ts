// The HTTP/2 frame scanner (RFC 9113 §4, §6): reads one frame at a time from bytes the host
// placed in linear memory, checks what §6 requires of each frame type (stream ids, lengths,
// padding, SETTINGS values, WINDOW_UPDATE increments, the CONTINUATION sequence, the frame and
// header block size limits) and writes the frame's fields into the connection's scanner
// struct. Payload bytes are not copied: the struct holds their address.
//
// The scanner keeps the one piece of state §6.10 needs across frames: whether a header block
// is open (HEADERS or PUSH_PROMISE without END_HEADERS) and on which stream.
import { H2Status } from './h2-status';

// Scanner struct layout (u32 each). Settings, written by h2_scanner_init:
export const FS_MAX_FRAME_SIZE: u32 = 0; //   the SETTINGS_MAX_FRAME_SIZE this endpoint announced
export const FS_MAX_HEADER_BLOCK: u32 = 4; // limit for HEADERS/PUSH_PROMISE + CONTINUATION payloads
export const FS_OPEN_BLOCK_STREAM: u32 = 8; // stream of the open header block, 0 when none
export const FS_BLOCK_BYTES: u32 = 12; //      header block bytes so far (the open or last block)
export const FS_IS_SERVER: u32 = 16; //        1: this endpoint is a server (PUSH_PROMISE refused)
// Results of the last call:
export const FS_STATUS: u32 = 20;
export const FS_FRAME_BYTES: u32 = 24; // 9 + length: the bytes this frame takes in the input
export const FS_TYPE: u32 = 28;
export const FS_FLAGS: u32 = 32;
export const FS_STREAM_ID: u32 = 36;
export const FS_PAYLOAD_PTR: u32 = 40; // after the pad length, priority or promised-id fields
export const FS_PAYLOAD_LEN: u32 = 44; // without padding
export const FS_VALUE0: u32 = 48; // WINDOW_UPDATE increment; RST_STREAM / GOAWAY error code;
//                                   SETTINGS pair count; PUSH_PROMISE promised stream id;
//                                   HEADERS/PRIORITY stream dependency (E bit in FS_VALUE1 bit 8)
export const FS_VALUE1: u32 = 52; // GOAWAY last stream id; HEADERS/PRIORITY weight - 1 | E << 8
export const FS_LENGTH: u32 = 56; // the frame header's length field
export const FS_SIZE: u32 = 64;

export const enum FrameType {
  DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5,
  PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9,
}

export const enum FrameFlag {
  END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY = 0x20,
}

/** RFC 9113 §6.5.2 defaults and bounds. */
export const DEFAULT_MAX_FRAME_SIZE: u32 = 16384;
export const MAX_MAX_FRAME_SIZE: u32 = 16777215;
/** Default header block limit: Envoy's max_request_headers_kb (60 KiB) plus HPACK overhead room. */
export const DEFAULT_MAX_HEADER_BLOCK: u32 = 64 * 1024;

const PREFACE_LEN: usize = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const PREFACE: usize = memory.data<u8>([
  0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32,
  0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x53, 0x4d, 0x0d, 0x0a, 0x0d, 0x0a,
]);

// @ts-ignore: decorator
@inline function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// @ts-ignore: decorator
@inline function be24(p: usize): u32 {
  return (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p + 1) << 8) | <u32>load<u8>(p + 2);
}

/** Prepares a scanner struct (FS_SIZE bytes at `s`); 0 limits take the defaults. */
export function h2_scanner_init(s: usize, maxFrameSize: u32, maxHeaderBlock: u32, isServer: i32): void {
  memory.fill(s, 0, <usize>FS_SIZE);
  store<u32>(s + FS_MAX_FRAME_SIZE, maxFrameSize == 0 ? DEFAULT_MAX_FRAME_SIZE : maxFrameSize);
  store<u32>(s + FS_MAX_HEADER_BLOCK, maxHeaderBlock == 0 ? DEFAULT_MAX_HEADER_BLOCK : maxHeaderBlock);
  store<u32>(s + FS_IS_SERVER, isServer != 0 ? 1 : 0);
}

/** Checks the 24-byte client preface at (ptr, len): Ok, Incomplete (a correct prefix) or BadPreface. */
export function h2_check_preface(ptr: usize, len: usize): i32 {
  const n = len < PREFACE_LEN ? len : PREFACE_LEN;
  for (let i: usize = 0; i < n; i++) {
    if (load<u8>(ptr + i) != load<u8>(PREFACE + i)) return H2Status.BadPreface;
  }
  return len < PREFACE_LEN ? H2Status.Incomplete : H2Status.Ok;
}

/**
 * Reads the frame at the start of (ptr, len) into the scanner struct `s`. Returns Ok (the
 * frame is complete and valid; FS_FRAME_BYTES says how far to advance), Incomplete, or an
 * error. A frame header whose length is over the limit fails as soon as its 9 bytes arrive.
 */
export function h2_scan_frame(s: usize, ptr: usize, len: usize): i32 {
  const status = scan(s, ptr, len);
  store<u32>(s + FS_STATUS, <u32>status);
  return status;
}

function scan(s: usize, ptr: usize, len: usize): i32 {
  if (len < 9) return H2Status.Incomplete;
  const length = be24(ptr);
  const type = <u32>load<u8>(ptr + 3);
  const flags = <u32>load<u8>(ptr + 4);
  const stream = be32(ptr + 5) & 0x7fffffff; // the reserved bit is ignored (§4.1)
  store<u32>(s + FS_LENGTH, length);
  store<u32>(s + FS_TYPE, type);
  store<u32>(s + FS_FLAGS, flags);
  store<u32>(s + FS_STREAM_ID, stream);
  store<u32>(s + FS_FRAME_BYTES, 9 + length);
  store<u32>(s + FS_VALUE0, 0);
  store<u32>(s + FS_VALUE1, 0);
  if (length > load<u32>(s + FS_MAX_FRAME_SIZE)) return H2Status.FrameTooLarge;

  // §6.10: inside a header block only CONTINUATION frames of that stream may come.
  const open = load<u32>(s + FS_OPEN_BLOCK_STREAM);
  if (open != 0 && (type != FrameType.CONTINUATION || stream != open)) return H2Status.ExpectedContinuation;

  if (<usize>(9 + length) > len) return H2Status.Incomplete;
  const p = ptr + 9;
  let payload = p;
  let payloadLen = length;

  switch (type) {
    case FrameType.DATA: {
      if (stream == 0) return H2Status.BadStreamId;
      if (flags & FrameFlag.PADDED) {
        if (length < 1) return H2Status.BadFrameLength;
        const pad = <u32>load<u8>(p);
        if (pad >= length) return H2Status.BadPadding;
        payload = p + 1;
        payloadLen = length - 1 - pad;
      }
      break;
    }
    case FrameType.HEADERS: {
      if (stream == 0) return H2Status.BadStreamId;
      let pad: u32 = 0;
      let fixed: u32 = 0;
      if (flags & FrameFlag.PADDED) {
        if (length < 1) return H2Status.BadFrameLength;
        pad = <u32>load<u8>(p);
        fixed = 1;
      }
      if (flags & FrameFlag.PRIORITY) {
        if (length < fixed + 5) return H2Status.BadFrameLength;
        const dep = be32(p + fixed);
        const depId = dep & 0x7fffffff;
        store<u32>(s + FS_VALUE0, depId);
        store<u32>(s + FS_VALUE1, <u32>load<u8>(p + fixed + 4) | ((dep >>> 31) << 8));
        if (depId == stream) return H2Status.SelfDependency;
        fixed += 5;
      }
      if (pad + fixed > length) return H2Status.BadPadding;
      payload = p + fixed;
      payloadLen = length - fixed - pad;
      const st = beginBlock(s, stream, flags, payloadLen);
      if (st != H2Status.Ok) return st;
      break;
    }
    case FrameType.PRIORITY: {
      if (stream == 0) return H2Status.BadStreamId;
      if (length != 5) return H2Status.BadPriorityLength;
      const dep = be32(p);
      store<u32>(s + FS_VALUE0, dep & 0x7fffffff);
      store<u32>(s + FS_VALUE1, <u32>load<u8>(p + 4) | ((dep >>> 31) << 8));
      if ((dep & 0x7fffffff) == stream) return H2Status.SelfDependency;
      break;
    }
    case FrameType.RST_STREAM: {
      if (stream == 0) return H2Status.BadStreamId;
      if (length != 4) return H2Status.BadFrameLength;
      store<u32>(s + FS_VALUE0, be32(p));
      break;
    }
    case FrameType.SETTINGS: {
      if (stream != 0) return H2Status.BadStreamId;
      if ((flags & FrameFlag.ACK) && length != 0) return H2Status.BadFrameLength;
      if (length % 6 != 0) return H2Status.BadFrameLength;
      for (let q = p, end = p + length; q < end; q += 6) {
        const id = (<u32>load<u8>(q) << 8) | <u32>load<u8>(q + 1);
        const value = be32(q + 2);
        if (id == 2 && value > 1) return H2Status.BadSettingValue; // ENABLE_PUSH
        if (id == 4 && value > 0x7fffffff) return H2Status.BadInitialWindow; // INITIAL_WINDOW_SIZE
        if (id == 5 && (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)) return H2Status.BadSettingValue;
      }
      store<u32>(s + FS_VALUE0, length / 6);
      break;
    }
    case FrameType.PUSH_PROMISE: {
      if (load<u32>(s + FS_IS_SERVER) != 0) return H2Status.PushToServer;
      if (stream == 0) return H2Status.BadStreamId;
      let pad: u32 = 0;
      let fixed: u32 = 4;
      if (flags & FrameFlag.PADDED) {
        if (length < 1) return H2Status.BadFrameLength;
        pad = <u32>load<u8>(p);
        fixed = 5;
      }
      if (length < fixed) return H2Status.BadFrameLength;
      if (pad + fixed > length) return H2Status.BadPadding;
      store<u32>(s + FS_VALUE0, be32(p + fixed - 4) & 0x7fffffff);
      payload = p + fixed;
      payloadLen = length - fixed - pad;
      const st = beginBlock(s, stream, flags, payloadLen);
      if (st != H2Status.Ok) return st;
      break;
    }
    case FrameType.PING: {
      if (stream != 0) return H2Status.BadStreamId;
      if (length != 8) return H2Status.BadFrameLength;
      break;
    }
    case FrameType.GOAWAY: {
      if (stream != 0) return H2Status.BadStreamId;
      if (length < 8) return H2Status.BadFrameLength;
      store<u32>(s + FS_VALUE1, be32(p) & 0x7fffffff);
      store<u32>(s + FS_VALUE0, be32(p + 4));
      payload = p + 8; // debug data
      payloadLen = length - 8;
      break;
    }
    case FrameType.WINDOW_UPDATE: {
      if (length != 4) return H2Status.BadFrameLength;
      const inc = be32(p) & 0x7fffffff;
      store<u32>(s + FS_VALUE0, inc);
      if (inc == 0) return H2Status.ZeroWindowIncrement;
      break;
    }
    case FrameType.CONTINUATION: {
      if (stream == 0) return H2Status.BadStreamId;
      if (open == 0) return H2Status.UnexpectedContinuation;
      const total = load<u32>(s + FS_BLOCK_BYTES) + length;
      store<u32>(s + FS_BLOCK_BYTES, total);
      if (total > load<u32>(s + FS_MAX_HEADER_BLOCK)) return H2Status.HeaderBlockTooLarge;
      if (flags & FrameFlag.END_HEADERS) store<u32>(s + FS_OPEN_BLOCK_STREAM, 0);
      break;
    }
    default:
      break; // §5.5: unknown frame types are ignored
  }
  store<u32>(s + FS_PAYLOAD_PTR, <u32>payload);
  store<u32>(s + FS_PAYLOAD_LEN, payloadLen);
  return H2Status.Ok;
}

function beginBlock(s: usize, stream: u32, flags: u32, bytes: u32): i32 {
  store<u32>(s + FS_BLOCK_BYTES, bytes);
  if (bytes > load<u32>(s + FS_MAX_HEADER_BLOCK)) return H2Status.HeaderBlockTooLarge;
  store<u32>(s + FS_OPEN_BLOCK_STREAM, (flags & FrameFlag.END_HEADERS) ? 0 : stream);
  return H2Status.Ok;
}
