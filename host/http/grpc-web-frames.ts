// The wire pieces of gRPC-Web (grpc/grpc PROTOCOL-WEB.md) that differ from gRPC over HTTP/2, as
// Envoy's grpc_web filter translates them: the trailer frame (flag 0x80, a 4-byte length, then
// the trailers as `name:value\r\n` lines) that ends a gRPC-Web response body in place of HTTP/2
// trailers, and the `-text` mode's base64, decoded and encoded as a stream whose chunks need not
// hold whole 4-character (or 3-byte) groups.

/** The flag byte of a trailer frame (the message frames carry 0x00 or 0x01, compressed). */
export const TRAILER_FRAME_FLAG = 0x80;

/**
 * The trailer frame for `trailers` (flat name, value, … pairs): names lower-cased as gRPC-Web
 * requires, pseudo-headers left out.
 */
export function trailerFrame(trailers: readonly string[]): Uint8Array {
  let text = '';
  for (let i = 0; i + 1 < trailers.length; i += 2) {
    const name = trailers[i]!.toLowerCase();
    if (name.charCodeAt(0) === 0x3a) continue;
    text += `${name}:${trailers[i + 1]!}\r\n`;
  }
  const body = Buffer.from(text, 'latin1');
  const frame = new Uint8Array(5 + body.length);
  frame[0] = TRAILER_FRAME_FLAG;
  new DataView(frame.buffer).setUint32(1, body.length);
  frame.set(body, 5);
  return frame;
}

const EMPTY = new Uint8Array(0);

/** Whether `c` is a base64 alphabet character (standard alphabet, padding apart). */
function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

/**
 * Streaming base64 decoder for `application/grpc-web-text` request bodies. A chunk may end
 * inside a 4-character group: the rest waits for the next chunk. A client may send several
 * padded base64 pieces one after another (each message encoded on its own), so padding may
 * end any group, not only the last. decode() returns null on a character outside the alphabet,
 * on misplaced padding, or (at the end) on a group left incomplete.
 */
export class Base64StreamDecoder {
  /** Characters of an incomplete group (0…3), carried to the next chunk. */
  #carry = '';

  decode(chunk: Uint8Array, end: boolean): Uint8Array | null {
    let text = this.#carry + Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    const whole = text.length - (text.length % 4);
    this.#carry = text.slice(whole);
    text = text.slice(0, whole);
    if (end && this.#carry !== '') return null;
    if (text === '') return EMPTY;
    // Check every group: Node's decoder skips what it does not know; a proxy must refuse it.
    let padded = false;
    for (let g = 0; g < text.length; g += 4) {
      for (let k = 0; k < 4; k++) {
        const c = text.charCodeAt(g + k);
        if (c === 0x3d /* = */) {
          // Padding only in the group's last two places, and then to its end ("x=" or "xx==" forms).
          if (k < 2) return null;
          if (k === 2 && text.charCodeAt(g + 3) !== 0x3d) return null;
          padded = true;
          break;
        }
        if (!isBase64Char(c)) return null;
      }
    }
    if (!padded) return Buffer.from(text, 'base64');
    // Padding inside the text: each group decoded on its own, so that a padded group ends only itself.
    const parts: Buffer[] = [];
    for (let g = 0; g < text.length; g += 4) parts.push(Buffer.from(text.slice(g, g + 4), 'base64'));
    return Buffer.concat(parts);
  }
}

/**
 * Streaming base64 encoder for `application/grpc-web-text` responses: bytes are encoded in
 * whole 3-byte groups (no padding mid-stream); up to 2 bytes wait for the next chunk. flush()
 * encodes what is left, padded (before a trailer frame, which is encoded on its own, as Envoy does).
 */
export class Base64StreamEncoder {
  #carry: Uint8Array = EMPTY;

  encode(chunk: Uint8Array): Uint8Array {
    let bytes = chunk;
    if (this.#carry.length > 0) {
      bytes = new Uint8Array(this.#carry.length + chunk.length);
      bytes.set(this.#carry);
      bytes.set(chunk, this.#carry.length);
    }
    const whole = bytes.length - (bytes.length % 3);
    this.#carry = whole === bytes.length ? EMPTY : bytes.slice(whole);
    if (whole === 0) return EMPTY;
    return Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, whole).toString('base64'), 'latin1');
  }

  flush(): Uint8Array {
    if (this.#carry.length === 0) return EMPTY;
    const out = Buffer.from(Buffer.from(this.#carry).toString('base64'), 'latin1');
    this.#carry = EMPTY;
    return out;
  }
}
