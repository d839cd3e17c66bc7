// Small edits to an upstream request head the core already wrote: header lines appended per
// attempt (x-envoy-attempt-count changes on each retry, while the core's request view holds
// another request by then; a retry's own propagation lines over the first attempt's) and the
// `-shadow` host of a mirrored copy.

const CRLF = 0x0d0a;

/**
 * `head` (ending in CRLF CRLF) with `lines` (each `name: value\r\n`, ASCII) inserted before
 * the blank line. `head` itself is not changed.
 */
export function withHeaderLines(head: Uint8Array, lines: string): Uint8Array {
  const n = head.length;
  if (n < 4 || ((head[n - 2]! << 8) | head[n - 1]!) !== CRLF) throw new Error('wasmesh: request head does not end with CRLF CRLF');
  const out = Buffer.allocUnsafe(n + lines.length);
  out.set(head.subarray(0, n - 2));
  // Native latin1 copy (the lines are ASCII). Tracing's lines are written with the head instead (RequestHeadWriter.writeWith).
  const at = n - 2 + out.write(lines, n - 2, 'latin1');
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return out;
}

/** Header lines written straight into a head's copy, with no string built for them (tracing's propagation lines, on every traced request). */
export interface HeadLineWriter {
  /** The bytes the lines take (each `name: value\r\n`, latin1). */
  headLinesLength(): number;
  /** Writes the lines at `at` in `out`; returns the index after them. */
  writeHeadLines(out: Uint8Array, at: number): number;
}

/**
 * `head` (ending in CRLF CRLF) with `w`'s lines inserted before the blank line, in one buffer
 * (no intermediate string or view). `head` itself is not changed.
 */
export function withWrittenLines(head: Uint8Array, w: HeadLineWriter): Uint8Array {
  const n = head.length;
  if (n < 4 || ((head[n - 2]! << 8) | head[n - 1]!) !== CRLF) throw new Error('wasmesh: request head does not end with CRLF CRLF');
  const out = Buffer.allocUnsafe(n + w.headLinesLength());
  // The whole head, its final CRLF then overwritten by the lines: no subarray view to copy from.
  out.set(head);
  const at = w.writeHeadLines(out, n - 2);
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return out;
}

/**
 * A copy of `head` whose last lines (before the blank line) are overwritten with `w`'s, which
 * take as many bytes (a retry's propagation lines over the first attempt's: only the attempt
 * span id differs). `head` itself is not changed.
 */
export function withReplacedLastLines(head: Uint8Array, w: HeadLineWriter): Uint8Array {
  const n = head.length;
  const at = n - 2 - w.headLinesLength();
  if (n < 4 || ((head[n - 2]! << 8) | head[n - 1]!) !== CRLF) throw new Error('wasmesh: request head does not end with CRLF CRLF');
  if (at < 0 || head[at - 1] !== 0x0a) throw new Error('wasmesh: the lines to replace do not start a line of the request head');
  const out = new Uint8Array(head);
  const end = w.writeHeadLines(out, at);
  if (end !== n - 2) throw new Error(`wasmesh: replacement lines took ${end - at} bytes, not the ${n - 2 - at} they replace`);
  return out;
}

const ATTEMPT_ONE = 'x-envoy-attempt-count: 1\r\n';

/**
 * The first attempt's head (which carries `x-envoy-attempt-count: 1`, written by the core) for
 * attempt `attempt`: that line's value replaced, or the line added when the head lacks it.
 * Only retries pay for this copy. `head` itself is not changed.
 */
export function withAttemptCount(head: Uint8Array, attempt: number): Uint8Array {
  const at = indexOfAscii(head, ATTEMPT_ONE);
  const line = `x-envoy-attempt-count: ${attempt}\r\n`;
  if (at < 0) return withHeaderLines(head, line);
  const tail = at + ATTEMPT_ONE.length;
  const out = new Uint8Array(head.length - ATTEMPT_ONE.length + line.length);
  out.set(head.subarray(0, at));
  for (let i = 0; i < line.length; i++) out[at + i] = line.charCodeAt(i);
  out.set(head.subarray(tail), at + line.length);
  return out;
}

/** The first index of the ASCII string `s` in `bytes` at the start of a line, or -1. */
function indexOfAscii(bytes: Uint8Array, s: string): number {
  const first = s.charCodeAt(0);
  outer: for (let i = 0; i + s.length <= bytes.length; i++) {
    if (bytes[i] !== first || (i > 0 && bytes[i - 1] !== 0x0a)) continue;
    for (let j = 1; j < s.length; j++) if (bytes[i + j] !== s.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
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
