// The server name a TLS ClientHello asks for, read from the first record before any handshake
// (Envoy's tls_inspector): it picks the gateway server whose certificate and settings answer.
// The TLS record and handshake framing (RFC 8446 §4.1.2, RFC 6066 §3), no ASN.1 involved.

export type ClientHelloSni =
  /** The record is not complete yet: read more. */
  | { readonly kind: 'more' }
  /** Not a TLS ClientHello (plaintext HTTP on a TLS port, garbage). */
  | { readonly kind: 'not-tls' }
  /** A ClientHello; `name` null when it carries no server_name. */
  | { readonly kind: 'hello'; readonly name: string | null };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const SERVER_NAME = 0x0000;
const HOST_NAME = 0x00;
/** A TLS record holds at most 2^14 bytes (plus a 5-byte header). */
export const MAX_HELLO_RECORD = 5 + 16_384;

export function clientHelloSni(b: Uint8Array): ClientHelloSni {
  if (b.length >= 1 && b[0] !== HANDSHAKE) return { kind: 'not-tls' };
  if (b.length >= 2 && b[1] !== 0x03) return { kind: 'not-tls' };
  if (b.length < 5) return { kind: 'more' };
  const recordLength = (b[3]! << 8) | b[4]!;
  if (recordLength > 16_384 || recordLength < 4) return { kind: 'not-tls' };
  if (b.length < 5 + recordLength) return { kind: 'more' };
  const end = 5 + recordLength;
  let p = 5;
  if (b[p] !== CLIENT_HELLO) return { kind: 'not-tls' };
  // The handshake message may continue in a later record; the SNI is early in it, and what was
  // cut off is treated as absent.
  p += 4; // type, 3-byte length
  p += 2 + 32; // client_version, random
  if (p >= end) return { kind: 'hello', name: null };
  p += 1 + b[p]!; // session_id
  if (p + 2 > end) return { kind: 'hello', name: null };
  p += 2 + ((b[p]! << 8) | b[p + 1]!); // cipher_suites
  if (p >= end) return { kind: 'hello', name: null };
  p += 1 + b[p]!; // compression_methods
  if (p + 2 > end) return { kind: 'hello', name: null };
  const extEnd = Math.min(end, p + 2 + ((b[p]! << 8) | b[p + 1]!));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
    if (type === SERVER_NAME && p + len <= extEnd) {
      let q = p + 2; // server_name_list length
      while (q + 3 <= p + len) {
        const nameType = b[q]!;
        const nameLen = (b[q + 1]! << 8) | b[q + 2]!;
        q += 3;
        if (q + nameLen > p + len) break;
        if (nameType === HOST_NAME) return { kind: 'hello', name: Buffer.from(b.subarray(q, q + nameLen)).toString('latin1').toLowerCase() };
        q += nameLen;
      }
      return { kind: 'hello', name: null };
    }
    p += len;
  }
  return { kind: 'hello', name: null };
}
