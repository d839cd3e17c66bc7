// IP address text → its bytes in network order, written into a caller's buffer without
// allocating (the authorization attributes are written per request). IPv4 dotted quads and
// IPv6 (with `::`, an embedded IPv4 tail, a `%zone` ignored); an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) is written as its 4
// IPv4 bytes, so that IPv4 blocks match it.

const groups = new Uint16Array(8);

/** Writes the address's bytes at `u8[at]` (16 bytes must be free there); returns 4, 16, or 0 when `s` is not an address. */
export function writeIpBytes(s: string, u8: Uint8Array, at: number): number {
  if (s.indexOf(':') < 0) return writeV4(s, 0, s.length, u8, at) ? 4 : 0;
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  let n = 0; // groups written
  let gap = -1; // where `::` stood
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === end) {
      groups.fill(0);
      return finishV6(0, 0, u8, at);
    }
  }
  while (i < end) {
    // An IPv4 tail: the rest holds a dot.
    const colon = s.indexOf(':', i);
    const stop = colon < 0 || colon > end ? end : colon;
    if (stop === end && s.indexOf('.', i) >= 0 && s.indexOf('.', i) < end) {
      if (n > 6) return 0;
      if (!writeV4(s, i, end, u8, at)) return 0;
      groups[n++] = (u8[at]! << 8) | u8[at + 1]!;
      groups[n++] = (u8[at + 2]! << 8) | u8[at + 3]!;
      i = end;
      break;
    }
    if (stop - i < 1 || stop - i > 4 || n >= 8) return 0;
    let v = 0;
    for (let k = i; k < stop; k++) {
      const d = hexDigit(s.charCodeAt(k));
      if (d < 0) return 0;
      v = (v << 4) | d;
    }
    groups[n++] = v;
    if (stop === end) {
      i = end;
      break;
    }
    // `::` after this group.
    if (stop + 1 < end && s.charCodeAt(stop + 1) === 0x3a) {
      if (gap >= 0) return 0;
      gap = n;
      i = stop + 2;
    } else {
      i = stop + 1;
      if (i === end) return 0;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  return finishV6(n, gap, u8, at);
}

function finishV6(n: number, gap: number, u8: Uint8Array, at: number): number {
  // Spread the groups: those after the gap move to the end, zeros in between.
  const tail = gap < 0 ? 0 : n - gap;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap < 0 || k < gap) v = groups[k]!;
    else if (k >= 8 - tail) v = groups[gap + (k - (8 - tail))]!;
    u8[at + 2 * k] = v >> 8;
    u8[at + 2 * k + 1] = v & 0xff;
  }
  // ::ffff:a.b.c.d → a.b.c.d
  let mapped = u8[at + 10] === 0xff && u8[at + 11] === 0xff;
  for (let k = 0; mapped && k < 10; k++) if (u8[at + k] !== 0) mapped = false;
  if (mapped) {
    for (let k = 0; k < 4; k++) u8[at + k] = u8[at + 12 + k]!;
    return 4;
  }
  return 16;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function writeV4(s: string, from: number, to: number, u8: Uint8Array, at: number): boolean {
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return false;
      u8[at + part++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || digits === 3 || (digits > 0 && v === 0)) return false;
    v = v * 10 + d;
    digits++;
    if (v > 255) return false;
  }
  return part === 4;
}

/** The address's bytes as a new array (configuration time), or null when `s` is not one. */
export function ipBytes(s: string): Uint8Array | null {
  const buf = new Uint8Array(16);
  const n = writeIpBytes(s, buf, 0);
  return n === 0 ? null : buf.slice(0, n);
}
