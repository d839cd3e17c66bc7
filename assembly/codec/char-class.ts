// Byte classification for the HTTP/1.1 codec: one 256-byte static table of bit flags, so that
// every "is this byte allowed here" question is a single load and mask, with no branches on
// byte ranges in the parser's inner loops.

/** Named bytes, so that the parser reads like the RFC grammar. */
export const enum CharCode {
  HTAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SP = 0x20,
  DQUOTE = 0x22,
  COMMA = 0x2c,
  DOT = 0x2e,
  SLASH = 0x2f,
  ZERO = 0x30,
  NINE = 0x39,
  COLON = 0x3a,
  SEMICOLON = 0x3b,
  EQUALS = 0x3d,
  H = 0x48,
  P = 0x50,
  T = 0x54,
  a = 0x61,
  f = 0x66,
  z = 0x7a,
  DEL = 0x7f,
}

/** tchar (RFC 9110 §5.6.2): the bytes of methods, field names and transfer codings. */
export const C_TCHAR: u8 = 1;
/** VCHAR (0x21–0x7E): the bytes wasmesh accepts in a request-target. */
export const C_VCHAR: u8 = 2;
/** field-vchar / SP / HTAB (RFC 9110 §5.5): every byte allowed inside a field value. */
export const C_FIELD: u8 = 4;
/** DIGIT. */
export const C_DIGIT: u8 = 8;
/** HEXDIG (either case). */
export const C_HEX: u8 = 16;
/** OWS bytes: SP and HTAB. */
export const C_OWS: u8 = 32;

/** The table: CHAR_CLASS + byte → flags. Filled once at instantiation. */
export const CHAR_CLASS: usize = memory.data(256);

function initCharClass(): void {
  for (let c: i32 = 0; c < 256; c++) {
    let f: u8 = 0;
    const isVchar = c >= 0x21 && c <= 0x7e;
    if (isVchar) f |= C_VCHAR;
    // field-vchar = VCHAR / obs-text; SP and HTAB occur inside values too.
    if (isVchar || c >= 0x80 || c == CharCode.SP || c == CharCode.HTAB) f |= C_FIELD;
    if (c >= 0x30 && c <= 0x39) f |= C_DIGIT | C_HEX;
    if ((c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)) f |= C_HEX;
    if (c == CharCode.SP || c == CharCode.HTAB) f |= C_OWS;
    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    if (
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 ||
      c == 0x2a || c == 0x2b || c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f ||
      c == 0x60 || c == 0x7c || c == 0x7e
    ) f |= C_TCHAR;
    store<u8>(CHAR_CLASS + <usize>c, f);
  }
}
initCharClass();

/** The class flags of byte `c`. */
// @ts-ignore: decorator
@inline export function charClass(c: u32): u32 {
  return <u32>load<u8>(CHAR_CLASS + <usize>c);
}

/** ASCII lower-case folding: only letters change; `| 32` maps A–Z onto a–z. */
// @ts-ignore: decorator
@inline export function foldByte(c: u32): u32 {
  return c - 0x41 < 26 ? c | 32 : c;
}

/**
 * Whether the `len` bytes at `p` equal `lower` (an ASCII lower-case literal) ignoring ASCII
 * case. Used for the handful of field names and tokens the codec must recognise.
 */
export function equalsLower(p: usize, len: usize, lower: string): bool {
  if (<usize>lower.length != len) return false;
  for (let i: usize = 0; i < len; i++) {
    if (foldByte(<u32>load<u8>(p + i)) != <u32>lower.charCodeAt(<i32>i)) return false;
  }
  return true;
}

/** Whether two byte spans are equal ignoring ASCII case. */
export function equalsFold(a: usize, aLen: usize, b: usize, bLen: usize): bool {
  if (aLen != bLen) return false;
  for (let i: usize = 0; i < aLen; i++) {
    if (foldByte(<u32>load<u8>(a + i)) != foldByte(<u32>load<u8>(b + i))) return false;
  }
  return true;
}
