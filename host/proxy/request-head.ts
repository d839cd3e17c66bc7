// Small edits to an upstream request head the core already wrote: header lines appended per
// attempt (x-envoy-attempt-count changes on each retry, while the core's request view holds
// another request by then) and the `-shadow` host of a mirrored copy.

const CRLF = 0x0d0a;

/**
 * `head` (ending in CRLF CRLF) with `lines` (each `name: value\r\n`, ASCII) inserted before
 * the blank line. `head` itself is not changed.
 */
export function withHeaderLines(head: Uint8Array, lines: string): Uint8Array {
  const n = head.length;
  if (n < 4 || ((head[n - 2]! << 8) | head[n - 1]!) !== CRLF) throw new Error('wasmesh: request head does not end with CRLF CRLF');
  const out = new Uint8Array(n + lines.length);
  out.set(head.subarray(0, n - 2));
  let at = n - 2;
  for (let i = 0; i < lines.length; i++) out[at++] = lines.charCodeAt(i) & 0xff;
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}

/** Envoy's shadow host: `-shadow` appended to the host name, before any port (`a:80` → `a-shadow:80`). */
export function shadowHost(authority: string): string {
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close && colon > 0 && (close >= 0 || authority.indexOf(':') === colon)) {
    return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  }
  return `${authority}-shadow`;
}
