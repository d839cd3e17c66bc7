// The TLS ClientHello reader (RFC 8446 §4.1.2, §5.1; RFC 6066 §3 server_name; RFC 7301 ALPN):
// Envoy's tls_inspector in the core. Given the first bytes of a connection it says whether
// they are TLS at all, whether more bytes are needed, whether the ClientHello is malformed or
// over the size limit, and otherwise where the SNI host_name and the ALPN protocol list are.
// It reads the ClientHello across any number of handshake records (a client may fragment it,
// down to one byte per record) without copying while incomplete; once the whole message is
// there, its record payloads are compacted in place (the host forwards its own copy of the
// bytes, never this region), so the result spans point into the input region.
//
// One call per read: the host appends the new bytes to its input region and calls again; a
// call costs one walk over the record headers until the handshake message is whole.

// Result struct (u32 each), written by tls_client_hello_parse:
export const CH_SNI_PTR: u32 = 0; //      the first host_name of server_name, as sent
export const CH_SNI_LEN: u32 = 4; //      0 when there is none
export const CH_ALPN_PTR: u32 = 8; //     the ProtocolNameList's entries (1-byte length + name, ...)
export const CH_ALPN_LEN: u32 = 12; //    0 when there is no ALPN extension
export const CH_FLAGS: u32 = 16; //       ChFlag bits
export const CH_BYTES: u32 = 20; //       record bytes the ClientHello took (headers included); bytes read so far otherwise
export const CH_ERROR_AT: u32 = 24; //    Malformed: the offset in the handshake message where reading stopped
export const CH_VERSION: u32 = 28; //     the ClientHello's legacy_version (0x0303 for TLS 1.2 and 1.3)
export const CH_SIZE: u32 = 32;

export const enum ChFlag {
  SNI = 1, //  a server_name extension with a host_name
  ALPN = 2, // an application_layer_protocol_negotiation extension
}

export const enum ChStatus {
  /** A whole, well-formed ClientHello: the result struct describes it. */
  Tls = 0,
  /** The bytes so far are the start of a TLS handshake record: read more and call again. */
  NeedMore = 1,
  /** The first bytes are not a TLS handshake record (plain text, another protocol). */
  NotTls = 2,
  /** TLS handshake records, but not a ClientHello that parses (CH_ERROR_AT says where). */
  Malformed = 3,
  /** The ClientHello is not complete within the limit (Envoy's client_hello_too_large). */
  TooLarge = 4,
}

/** Envoy tls_inspector's max_client_hello_size default (and its maximum): 64 KiB. */
export const DEFAULT_MAX_CLIENT_HELLO: u32 = 64 * 1024;

const RECORD_HEADER: u32 = 5;
const CONTENT_HANDSHAKE: u32 = 22;
const HANDSHAKE_CLIENT_HELLO: u32 = 1;
/** RFC 8446 §5.1: a plaintext record's fragment is at most 2^14 bytes. */
const MAX_RECORD_PAYLOAD: u32 = 16384;
const EXT_SERVER_NAME: u32 = 0;
const EXT_ALPN: u32 = 16;
const NAME_TYPE_HOST_NAME: u32 = 0;

// @ts-ignore: decorator
@inline function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
}

function setResult(out: usize, bytes: u32): void {
  store<u32>(out + CH_SNI_PTR, 0);
  store<u32>(out + CH_SNI_LEN, 0);
  store<u32>(out + CH_ALPN_PTR, 0);
  store<u32>(out + CH_ALPN_LEN, 0);
  store<u32>(out + CH_FLAGS, 0);
  store<u32>(out + CH_BYTES, bytes);
  store<u32>(out + CH_ERROR_AT, 0);
  store<u32>(out + CH_VERSION, 0);
}

function malformed(out: usize, at: u32): i32 {
  store<u32>(out + CH_ERROR_AT, at);
  return ChStatus.Malformed;
}

/**
 * Reads the ClientHello at the start of `len` bytes at `ptr` into the result struct at `out`;
 * `maxBytes` (0: the default 64 KiB) bounds the record bytes it may take. Returns a ChStatus.
 * On Tls the input's record payloads have been compacted in place (the spans point into it).
 */
export function tls_client_hello_parse(ptr: usize, len: u32, maxBytes: u32, out: usize): i32 {
  const limit = maxBytes == 0 ? DEFAULT_MAX_CLIENT_HELLO : maxBytes;
  setResult(out, len);
  if (len == 0) return ChStatus.NeedMore;
  // Envoy's tls_inspector asks BoringSSL, which wants a handshake record of major version 3.
  if (<u32>load<u8>(ptr) != CONTENT_HANDSHAKE) return ChStatus.NotTls;
  if (len >= 2 && <u32>load<u8>(ptr + 1) != 3) return ChStatus.NotTls;
  // Pass 1: walk the records, reading the handshake header (type + 24-bit length) across them,
  // until the payloads hold the whole message or the input ends.
  let at: u32 = 0; //        record start in the input
  let payload: u32 = 0; //   handshake bytes seen so far
  let need: u32 = 0xffffffff; // 4 + the message length, once its header is read
  let header: u32 = 0; //    the header's bytes, accumulated
  let records: u32 = 0;
  let end: u32 = 0; //       the end of the record holding the message's last byte
  while (true) {
    if (payload >= need) break;
    if (at >= limit) return ChStatus.TooLarge;
    if (at + RECORD_HEADER > len) return at + RECORD_HEADER > limit ? ChStatus.TooLarge : ChStatus.NeedMore;
    const p = ptr + at;
    // Every record of the message is a handshake record (RFC 8446 §5.1: no interleaving).
    if (<u32>load<u8>(p) != CONTENT_HANDSHAKE || <u32>load<u8>(p + 1) != 3) return records == 0 ? ChStatus.NotTls : malformed(out, payload);
    const rlen = be16(p + 3);
    if (rlen == 0 || rlen > MAX_RECORD_PAYLOAD) return records == 0 ? ChStatus.NotTls : malformed(out, payload);
    records++;
    const body = at + RECORD_HEADER;
    const have = body + rlen <= len ? rlen : len - body;
    // The handshake header's bytes that fall in this record.
    for (let i: u32 = 0; i < have && payload + i < 4; i++) {
      header = (header << 8) | <u32>load<u8>(ptr + body + i);
      if (payload + i == 3) {
        if ((header >>> 24) != HANDSHAKE_CLIENT_HELLO) return malformed(out, 0);
        need = 4 + (header & 0xffffff);
        // Record headers cost at least 5 bytes per 2^14: a message this long cannot fit.
        if (need > limit) return ChStatus.TooLarge;
      }
    }
    // The limit bounds the bytes up to the message's last one (Envoy reads at most that many).
    const wanted = need == 0xffffffff || need - payload > rlen ? rlen : need - payload;
    if (body + wanted > limit) return ChStatus.TooLarge;
    payload += have;
    if (have < rlen) {
      // The record is cut short by the input's end.
      if (payload >= need) {
        end = body + rlen;
        break; // the message ends inside this record; the rest of it is not needed
      }
      return ChStatus.NeedMore;
    }
    at = body + rlen;
    end = at;
  }
  store<u32>(out + CH_BYTES, end);
  // Pass 2: compact the payloads over the record headers, then parse one contiguous message.
  let w: u32 = 0;
  at = 0;
  while (w < need) {
    const rlen = be16(ptr + at + 3);
    const body = at + RECORD_HEADER;
    let take = rlen < need - w ? rlen : need - w;
    if (body + take > len) take = len - body;
    memory.copy(ptr + w, ptr + body, take);
    w += take;
    at = body + rlen;
  }
  return parseMessage(ptr, need, out);
}

/** Parses a contiguous handshake message (its 4-byte header first) of `n` bytes. */
function parseMessage(m: usize, n: u32, out: usize): i32 {
  let i: u32 = 4;
  // legacy_version, random[32]
  if (i + 34 > n) return malformed(out, i);
  store<u32>(out + CH_VERSION, be16(m + i));
  if (<u32>load<u8>(m + i) != 3) return malformed(out, i);
  i += 34;
  // legacy_session_id<0..32>
  if (i + 1 > n) return malformed(out, i);
  const sid = <u32>load<u8>(m + i);
  if (sid > 32 || i + 1 + sid > n) return malformed(out, i);
  i += 1 + sid;
  // cipher_suites<2..2^16-2>: an even, non-zero length
  if (i + 2 > n) return malformed(out, i);
  const cs = be16(m + i);
  if (cs < 2 || (cs & 1) != 0 || i + 2 + cs > n) return malformed(out, i);
  i += 2 + cs;
  // legacy_compression_methods<1..2^8-1>
  if (i + 1 > n) return malformed(out, i);
  const cm = <u32>load<u8>(m + i);
  if (cm < 1 || i + 1 + cm > n) return malformed(out, i);
  i += 1 + cm;
  // No extensions at all (an SSLv3-era ClientHello): TLS without SNI or ALPN.
  if (i == n) return ChStatus.Tls;
  if (i + 2 > n) return malformed(out, i);
  const extLen = be16(m + i);
  i += 2;
  if (i + extLen != n) return malformed(out, i - 2);
  let flags: u32 = 0;
  while (i < n) {
    if (i + 4 > n) return malformed(out, i);
    const type = be16(m + i);
    const elen = be16(m + i + 2);
    const d = i + 4;
    if (d + elen > n) return malformed(out, i);
    if (type == EXT_SERVER_NAME) {
      // RFC 8446 §4.2: no extension twice.
      if ((flags & ChFlag.SNI) != 0) return malformed(out, i);
      const at = readServerName(m, d, elen, out);
      if (at != 0) return malformed(out, at);
      if (load<u32>(out + CH_SNI_LEN) > 0) flags |= ChFlag.SNI;
    } else if (type == EXT_ALPN) {
      if ((flags & ChFlag.ALPN) != 0) return malformed(out, i);
      const at = readAlpn(m, d, elen, out);
      if (at != 0) return malformed(out, at);
      flags |= ChFlag.ALPN;
    }
    i = d + elen;
  }
  store<u32>(out + CH_FLAGS, flags);
  return ChStatus.Tls;
}

/**
 * server_name (RFC 6066 §3): ServerNameList<1..2^16-1> of (name_type, HostName<1..2^16-1>);
 * the first host_name is taken. Returns 0, or the offset of the fault. A host_name with a NUL
 * byte is refused as BoringSSL refuses it; an empty extension (a server's echo) carries none.
 */
function readServerName(m: usize, d: u32, elen: u32, out: usize): u32 {
  if (elen == 0) return 0;
  if (elen < 2) return d;
  const listLen = be16(m + d);
  if (listLen == 0 || listLen + 2 != elen) return d;
  let i = d + 2;
  const end = d + elen;
  while (i < end) {
    if (i + 3 > end) return i;
    const nt = <u32>load<u8>(m + i);
    const nl = be16(m + i + 1);
    if (nl == 0 || i + 3 + nl > end) return i;
    if (nt == NAME_TYPE_HOST_NAME && load<u32>(out + CH_SNI_LEN) == 0) {
      for (let k: u32 = 0; k < nl; k++) if (load<u8>(m + i + 3 + k) == 0) return i + 3 + k;
      store<u32>(out + CH_SNI_PTR, <u32>(m + i + 3));
      store<u32>(out + CH_SNI_LEN, nl);
    }
    i += 3 + nl;
  }
  return 0;
}

/** ALPN (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>. Returns 0 or the fault's offset. */
function readAlpn(m: usize, d: u32, elen: u32, out: usize): u32 {
  if (elen < 2) return d;
  const listLen = be16(m + d);
  if (listLen < 2 || listLen + 2 != elen) return d;
  let i = d + 2;
  const end = d + elen;
  while (i < end) {
    const pl = <u32>load<u8>(m + i);
    if (pl == 0 || i + 1 + pl > end) return i;
    i += 1 + pl;
  }
  store<u32>(out + CH_ALPN_PTR, <u32>(m + d + 2));
  store<u32>(out + CH_ALPN_LEN, listLen);
  return 0;
}

/** Layout constants, so that the host can check at load time that both sides agree. */
export function tls_layout(which: i32): u32 {
  switch (which) {
    case 0: return CH_SIZE;
    case 1: return CH_VERSION;
    case 2: return DEFAULT_MAX_CLIENT_HELLO;
    case 3: return <u32>ChStatus.TooLarge;
    default: return 0;
  }
}
