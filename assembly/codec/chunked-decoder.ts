// The chunked transfer-coding decoder (RFC 9112 §7.1), streaming and resumable at any byte:
// its whole state lives in a small struct the host allocates per stream, so input may be split
// anywhere. It reports where the chunk payload lies in the input (spans) instead of copying it.
import { Status } from '../status';
import { CharCode, charClass, C_TCHAR, C_FIELD, C_HEX, C_OWS } from './char-class';
import { MAX_HEAD_BYTES, MAX_HEADERS } from './parsed-head';
import { MAX_SAFE_LENGTH } from './head-parser';

/** Spans one call reports at most; the host calls again for the rest of its input. */
export const CD_MAX_SPANS: u32 = 64;
/** A chunk-size line (size, extensions) longer than this is rejected. */
export const CD_MAX_LINE: u32 = 4096;

// Layout (u32 unless noted), at the address the host passes as `state`:
//   +0  state        ChunkState below (persists across calls)
//   +4  lineBytes    bytes of the current chunk-size line (persists)
//   +8  size         u64: the chunk size being read, then the payload bytes still to come
//   +16 trailerBytes bytes of the trailer section so far (persists; final total when done)
//   +20 trailerCount trailer fields so far (persists)
//   +24 consumed     input bytes this call used (output)
//   +28 spanCount    payload spans this call reported (output)
//   +32 done         1 once the last chunk and trailers are complete (output, sticky)
//   +36 status       this call's status (output; an error is sticky)
//   +40 errorOffset  input offset of the byte that decided the error (output)
//   +48 spans        CD_MAX_SPANS × 8 bytes: ptr, len (absolute addresses into the input)
export const CD_STATE: u32 = 0;
export const CD_LINE_BYTES: u32 = 4;
export const CD_SIZE_FIELD: u32 = 8;
export const CD_TRAILER_BYTES: u32 = 16;
export const CD_TRAILER_COUNT: u32 = 20;
export const CD_CONSUMED: u32 = 24;
export const CD_SPAN_COUNT: u32 = 28;
export const CD_DONE: u32 = 32;
export const CD_STATUS: u32 = 36;
export const CD_ERROR_OFFSET: u32 = 40;
export const CD_SPANS: u32 = 48;
export const CD_SIZE: u32 = CD_SPANS + CD_MAX_SPANS * 8;

/** Where the decoder is in the chunked grammar. */
const enum ChunkState {
  /** Expecting the first hex digit of a chunk size. */
  SizeStart = 0,
  /** In the hex digits. */
  Size = 1,
  /** After the size, BWS before a `;`. */
  SizeWs = 2,
  /** In chunk extensions, up to CR. */
  Ext = 3,
  /** After the chunk-size line's CR. */
  SizeLf = 4,
  /** In chunk payload. */
  Data = 5,
  /** After the payload: expecting CR. */
  DataCr = 6,
  /** Expecting LF after the payload's CR. */
  DataLf = 7,
  /** At the start of a trailer line (or the final empty line). */
  TrailerStart = 8,
  /** In a trailer field name. */
  TrailerName = 9,
  /** In a trailer field value. */
  TrailerValue = 10,
  /** Expecting LF after a trailer line's CR. */
  TrailerLf = 11,
  /** Expecting LF after the final empty line's CR. */
  FinalLf = 12,
  /** The body is complete. */
  Done = 13,
  /** An error was reported; every later call reports it again. */
  Failed = 14,
}

/** Resets the state struct at `state` for a new body. */
export function chunked_init(state: usize): void {
  memory.fill(state, 0, <usize>CD_SPANS);
}

/**
 * Decodes the next `len` bytes at `ptr` of a chunked body. Returns Ok or an error status
 * (also stored at +36). Reads up to the end of the input, the end of the body (done), or
 * until CD_MAX_SPANS spans are reported; `consumed` says how far it got, and the host calls
 * again with the rest. Bytes after the end of the body are not consumed.
 */
export function chunked_decode(state: usize, ptr: usize, len: usize): i32 {
  let st = <i32>load<u32>(state, CD_STATE);
  store<u32>(state, 0, CD_SPAN_COUNT);
  if (st == ChunkState.Failed) {
    store<u32>(state, 0, CD_CONSUMED);
    return <i32>load<u32>(state, CD_STATUS);
  }
  let lineBytes = load<u32>(state, CD_LINE_BYTES);
  let size = load<u64>(state, CD_SIZE_FIELD);
  let trailerBytes = load<u32>(state, CD_TRAILER_BYTES);
  let trailerCount = load<u32>(state, CD_TRAILER_COUNT);
  let spans: u32 = 0;
  let status: i32 = Status.Ok;
  let p = ptr;
  const end = ptr + len;

  while (p < end && st != ChunkState.Done) {
    if (st == ChunkState.Data) {
      // The payload fast path: one span for as much of the chunk as the input holds.
      if (spans == CD_MAX_SPANS) break;
      const avail = <u64>(end - p);
      const n = size < avail ? size : avail;
      const span = state + CD_SPANS + (spans << 3);
      store<u32>(span, <u32>p);
      store<u32>(span, <u32>n, 4);
      spans++;
      p += <usize>n;
      size -= n;
      if (size == 0) st = ChunkState.DataCr;
      continue;
    }
    const c = <u32>load<u8>(p);
    const cls = charClass(c);
    if (st <= ChunkState.Ext) {
      // The chunk-size line is capped so that extensions cannot make us scan forever.
      if (++lineBytes > CD_MAX_LINE) { status = Status.ChunkExtensionTooLarge; break; }
    } else if (st >= ChunkState.TrailerStart && st <= ChunkState.TrailerLf && !(st == ChunkState.TrailerStart && c == CharCode.CR)) {
      // Trailer field lines count towards the head limit; the final empty line does not.
      if (++trailerBytes > MAX_HEAD_BYTES) { status = Status.TrailersTooLarge; break; }
    }
    switch (st) {
      case ChunkState.SizeStart: {
        if (!(cls & C_HEX)) { status = c == CharCode.LF ? Status.BareLf : Status.InvalidChunkSize; break; }
        size = <u64>hexValue(c);
        st = ChunkState.Size;
        break;
      }
      case ChunkState.Size: {
        if (cls & C_HEX) {
          // size ≤ 2^53-1 before the shift, so the u64 cannot wrap.
          size = (size << 4) | <u64>hexValue(c);
          if (size > MAX_SAFE_LENGTH) status = Status.ChunkSizeTooLarge;
        } else if (c == CharCode.CR) st = ChunkState.SizeLf;
        else if (c == CharCode.SEMICOLON) st = ChunkState.Ext;
        else if (cls & C_OWS) st = ChunkState.SizeWs;
        else status = c == CharCode.LF ? Status.BareLf : Status.InvalidChunkSize;
        break;
      }
      case ChunkState.SizeWs: {
        // chunk-ext = *( BWS ";" ...): whitespace after the size must lead to a ";".
        if (c == CharCode.SEMICOLON) st = ChunkState.Ext;
        else if (!(cls & C_OWS)) status = Status.InvalidChunkSize;
        break;
      }
      case ChunkState.Ext: {
        // Extensions are skipped; their bytes must still be field bytes (no CTL, no bare LF).
        if (c == CharCode.CR) st = ChunkState.SizeLf;
        else if (!(cls & C_FIELD)) status = c == CharCode.LF ? Status.BareLf : Status.InvalidChunkExtension;
        break;
      }
      case ChunkState.SizeLf: {
        if (c != CharCode.LF) { status = Status.BareCr; break; }
        lineBytes = 0;
        st = size == 0 ? ChunkState.TrailerStart : ChunkState.Data;
        break;
      }
      case ChunkState.DataCr: {
        if (c == CharCode.CR) st = ChunkState.DataLf;
        else status = Status.MissingChunkCrlf;
        break;
      }
      case ChunkState.DataLf: {
        if (c == CharCode.LF) st = ChunkState.SizeStart;
        else status = Status.MissingChunkCrlf;
        break;
      }
      case ChunkState.TrailerStart: {
        if (c == CharCode.CR) st = ChunkState.FinalLf;
        else if (cls & C_OWS) status = Status.ObsFold;
        else if (c == CharCode.LF) status = Status.BareLf;
        else if (trailerCount == MAX_HEADERS) status = Status.TooManyTrailers;
        else if (cls & C_TCHAR) st = ChunkState.TrailerName;
        else status = Status.InvalidHeaderName;
        break;
      }
      case ChunkState.TrailerName: {
        if (c == CharCode.COLON) st = ChunkState.TrailerValue;
        else if (!(cls & C_TCHAR)) status = cls & C_OWS ? Status.SpaceBeforeColon : Status.InvalidHeaderName;
        break;
      }
      case ChunkState.TrailerValue: {
        if (c == CharCode.CR) st = ChunkState.TrailerLf;
        else if (!(cls & C_FIELD)) status = c == CharCode.LF ? Status.BareLf : Status.InvalidHeaderValue;
        break;
      }
      case ChunkState.TrailerLf: {
        if (c != CharCode.LF) { status = Status.BareCr; break; }
        trailerCount++;
        st = ChunkState.TrailerStart;
        break;
      }
      case ChunkState.FinalLf: {
        if (c != CharCode.LF) { status = Status.BareCr; break; }
        st = ChunkState.Done;
        break;
      }
      default: break;
    }
    if (status != Status.Ok) break;
    p++;
  }

  if (status != Status.Ok) {
    st = ChunkState.Failed;
    store<u32>(state, <u32>(p - ptr), CD_ERROR_OFFSET);
  }
  store<u32>(state, <u32>st, CD_STATE);
  store<u32>(state, lineBytes, CD_LINE_BYTES);
  store<u64>(state, size, CD_SIZE_FIELD);
  store<u32>(state, trailerBytes, CD_TRAILER_BYTES);
  store<u32>(state, trailerCount, CD_TRAILER_COUNT);
  store<u32>(state, <u32>(p - ptr), CD_CONSUMED);
  store<u32>(state, spans, CD_SPAN_COUNT);
  store<u32>(state, st == ChunkState.Done ? 1 : 0, CD_DONE);
  store<u32>(state, <u32>status, CD_STATUS);
  return status;
}

/** The value of a hex digit (the caller checked C_HEX). */
// @ts-ignore: decorator
@inline function hexValue(c: u32): u32 {
  // '0'–'9' → 0–9; letters fold to lower case, 'a' → 10.
  return c <= <u32>CharCode.NINE ? c - CharCode.ZERO : (c | 32) - CharCode.a + 10;
}
