// Response trailers as bytes (issue 15): the fields of a trailing header block copied once, as
// latin1 bytes back to back, from the HPACK decoder's list (core-h2-upstream-stream.ts) and
// carried to the downstream as they are. A gRPC response's trailers (grpc-status, grpc-message)
// cross the proxy with no JS string per field: the stats read grpc-status from the bytes
// (grpcStatus), and the core HTTP/2 listener hands the spans to its HPACK encoder (addFieldSpan).
// Consumers that need strings (gRPC-Web's trailer frame, node:http2's trailers object) get the
// flat list from `trailerStrings`, made once.
import { grpcStatusOfTrailers, parseGrpcStatusBytes } from './grpc-status.js';

export class TrailerBlock {
  /** Names and values, latin1, back to back: field i's name is bytes[ends[2i-1], ends[2i]), its value bytes[ends[2i], ends[2i+1]) (ends[-1] = 0). */
  readonly bytes: Uint8Array;
  readonly ends: readonly number[];
  #strings: string[] | null = null;

  constructor(bytes: Uint8Array, ends: readonly number[]) {
    if ((ends.length & 1) !== 0 || (ends.length > 0 && ends[ends.length - 1]! > bytes.length)) {
      throw new RangeError(`TrailerBlock: ${ends.length} span ends over ${bytes.length} bytes (a name and a value end per field, within the bytes)`);
    }
    this.bytes = bytes;
    this.ends = ends;
  }

  get count(): number {
    return this.ends.length >>> 1;
  }

  nameStart(i: number): number {
    return i === 0 ? 0 : this.ends[2 * i - 1]!;
  }

  nameEnd(i: number): number {
    return this.ends[2 * i]!;
  }

  valueEnd(i: number): number {
    return this.ends[2 * i + 1]!;
  }

  /** Whether field i's name is `lower` (ASCII, compared case-insensitively; `lower` in lower case). */
  nameIs(i: number, lower: string): boolean {
    const from = this.nameStart(i);
    const to = this.nameEnd(i);
    if (to - from !== lower.length) return false;
    const b = this.bytes;
    for (let k = 0; k < lower.length; k++) if ((b[from + k]! | 0x20) !== lower.charCodeAt(k)) return false;
    return true;
  }

  /** The grpc-status field's value as a code, read from the bytes; -1 when absent or not a non-negative integer. */
  grpcStatus(): number {
    for (let i = 0, n = this.count; i < n; i++) {
      if (this.nameIs(i, 'grpc-status')) return parseGrpcStatusBytes(this.bytes, this.nameEnd(i), this.valueEnd(i));
    }
    return -1;
  }

  /** The fields as a flat [name, value, …] list of strings (made on the first call). */
  strings(): readonly string[] {
    if (this.#strings !== null) return this.#strings;
    const out = new Array<string>(this.ends.length);
    const b = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    let at = 0;
    for (let k = 0; k < this.ends.length; k++) {
      out[k] = b.toString('latin1', at, this.ends[k]!);
      at = this.ends[k]!;
    }
    return (this.#strings = out);
  }
}

/** Trailers as the seams carry them: a flat [name, value, …] list of strings, or the bytes of a decoded block. */
export type Trailers = readonly string[] | TrailerBlock;

/** `t` as a flat list of strings (a TrailerBlock's made once). */
export function trailerStrings(t: Trailers): readonly string[];
export function trailerStrings(t: Trailers | undefined): readonly string[] | undefined;
export function trailerStrings(t: Trailers | undefined): readonly string[] | undefined {
  return t === undefined || !(t instanceof TrailerBlock) ? t : t.strings();
}

/** The grpc-status in `t` (read from the bytes of a TrailerBlock); -1 when none. */
export function grpcStatusOf(t: Trailers | undefined): number {
  return t instanceof TrailerBlock ? t.grpcStatus() : grpcStatusOfTrailers(t);
}
