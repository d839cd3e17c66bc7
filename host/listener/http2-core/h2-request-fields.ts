// RFC 9113 §8.2–§8.3 checks on a decoded request header list, before anything reads it: field
// names lower-case tokens, values free of NUL/CR/LF and of surrounding whitespace, pseudo-headers
// known, single and before every regular field, no response pseudo-header, no connection-specific
// field (§8.2.2: connection, keep-alive, proxy-connection, transfer-encoding, upgrade; `te` only
// as `trailers`). A request that fails is malformed: a stream error PROTOCOL_ERROR (§8.1.1), as
// nghttp2 (and so the node:http2 listener) answers it. Trailers (`trailers`: true) carry no
// pseudo-header at all.

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** tchar (RFC 9110 §5.6.2) without upper-case letters. */
const NAME_CHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") t[c.charCodeAt(0)] = 1;
  return t;
})();

function validName(n: string, from: number): boolean {
  if (n.length <= from) return false;
  for (let i = from; i < n.length; i++) if (NAME_CHAR[n.charCodeAt(i)] !== 1) return false;
  return true;
}

function validValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

/** Null when the list is well-formed; else why not (a stable snake_case reason). */
export function malformedRequestFields(raw: readonly string[], trailers: boolean): string | null {
  let regular = false;
  let seen = 0;
  let method = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58) {
      if (trailers) return 'pseudo_header_in_trailers';
      if (regular) return 'pseudo_header_after_field';
      if (!REQUEST_PSEUDO.has(name)) return 'unknown_pseudo_header';
      const bit = name === ':method' ? 1 : name === ':scheme' ? 2 : name === ':authority' ? 4 : name === ':path' ? 8 : 16;
      if (seen & bit) return 'duplicate_pseudo_header';
      seen |= bit;
      if (bit === 8 && value === '') return 'empty_path';
      if (bit === 1) method = value;
    } else {
      regular = true;
      if (!validName(name, 0)) return 'invalid_field_name';
      if (CONNECTION_SPECIFIC.has(name)) return 'connection_specific_field';
      if (name === 'te' && value.toLowerCase() !== 'trailers') return 'te_not_trailers';
    }
    if (!validValue(value)) return 'invalid_field_value';
  }
  if (trailers) return null;
  // §8.3.1: :method, :scheme and :path, except for CONNECT (§8.5: :authority, no :scheme or
  // :path) — an extended CONNECT (RFC 8441 §4, :protocol) has all four.
  if ((seen & 1) === 0) return 'missing_pseudo_header';
  if (method === 'CONNECT' && (seen & 16) === 0) {
    if ((seen & (2 | 8)) !== 0) return 'connect_with_scheme_or_path';
    if ((seen & 4) === 0) return 'missing_pseudo_header';
    return null;
  }
  if ((seen & (2 | 8)) !== (2 | 8)) return 'missing_pseudo_header';
  if ((seen & 16) !== 0 && method !== 'CONNECT') return 'protocol_without_connect';
  return null;
}
