// Real ClientHellos for the tls_inspector tests: a plain TCP server on loopback records the
// first bytes a TLS client sends (node:tls, `openssl s_client`, curl) and closes; and a
// reference reader of ClientHellos written from RFC 8446/6066/7301 in TypeScript, to judge the
// core's reader against. A capture needing openssl or curl throws when the tool is absent.
import { createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { spawn } from 'node:child_process';

/** The bytes a client sends first, until it stops sending for `quietMs` or 64 KiB + 5 are in. */
export async function captureClientHello(start: (port: number, fail: (err: Error) => void) => () => void, quietMs = 300): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let stop: (() => void) | null = null;
  const got = new Promise<Buffer>((resolve, reject) => {
    const server = createServer((s) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        s.destroy();
        server.close();
        resolve(Buffer.concat(chunks));
      };
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        if (timer) clearTimeout(timer);
        timer = setTimeout(done, quietMs);
      });
      s.on('error', () => {});
      s.on('end', done);
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      stop = start((server.address() as AddressInfo).port, (err) => {
        server.close();
        reject(err);
      });
    });
    setTimeout(() => reject(new Error('no ClientHello within 10 s')), 10_000).unref();
  });
  try {
    return await got;
  } finally {
    (stop as (() => void) | null)?.();
  }
}

/** node:tls's ClientHello for `servername` (omitted: none) with `alpn`. */
export function nodeTlsHello(servername: string | undefined, alpn?: string[], extra: Record<string, unknown> = {}): Promise<Buffer> {
  return captureClientHello((port) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...(servername !== undefined ? { servername } : {}), ...(alpn ? { ALPNProtocols: alpn } : {}), rejectUnauthorized: false, ...extra });
    s.on('error', () => {});
    return () => s.destroy();
  });
}

/** A command-line client's ClientHello (`openssl s_client`, curl): args get the port. */
export function commandHello(cmd: string, args: (port: number) => string[]): Promise<Buffer> {
  return captureClientHello((port, fail) => {
    const child = spawn(cmd, args(port), { stdio: ['pipe', 'ignore', 'ignore'] });
    // An absent tool fails the capture (and the test), never skips it.
    child.on('error', (err) => fail(new Error(`${cmd} could not run: ${err.message}`)));
    return () => child.kill('SIGKILL');
  });
}

export type ReferenceResult =
  | { kind: 'tls'; sni: string | null; alpn: string[] }
  | { kind: 'need_more' }
  | { kind: 'not_tls' }
  | { kind: 'malformed' }
  | { kind: 'too_large' };

/**
 * The reference reader: copies the handshake records' payloads together first (the simple way
 * the core avoids), then reads the ClientHello with bounds checks at every field.
 */
export function referenceClientHello(b: Uint8Array, max = 65536): ReferenceResult {
  if (b.length === 0) return { kind: 'need_more' };
  if (b[0] !== 22 || (b.length >= 2 && b[1] !== 3)) return { kind: 'not_tls' };
  const payload: number[] = [];
  let at = 0;
  let records = 0;
  let need = Infinity;
  while (payload.length < need) {
    if (at >= max) return { kind: 'too_large' };
    if (at + 5 > b.length) return at + 5 > max ? { kind: 'too_large' } : { kind: 'need_more' };
    if (b[at] !== 22 || b[at + 1] !== 3) return records === 0 ? { kind: 'not_tls' } : { kind: 'malformed' };
    const len = (b[at + 3]! << 8) | b[at + 4]!;
    if (len === 0 || len > 16384) return records === 0 ? { kind: 'not_tls' } : { kind: 'malformed' };
    records++;
    const body = b.subarray(at + 5, Math.min(b.length, at + 5 + len));
    payload.push(...body);
    if (payload.length >= 4 && need === Infinity) {
      if (payload[0] !== 1) return { kind: 'malformed' };
      need = 4 + ((payload[1]! << 16) | (payload[2]! << 8) | payload[3]!);
      if (need > max) return { kind: 'too_large' };
    }
    const wanted = need === Infinity ? len : Math.min(len, need - (payload.length - body.length));
    if (at + 5 + wanted > max) return { kind: 'too_large' };
    if (body.length < len) {
      if (payload.length >= need) break;
      return { kind: 'need_more' };
    }
    at += 5 + len;
  }
  const m = Buffer.from(payload.slice(0, need));
  let i = 4;
  const bad = { kind: 'malformed' } as const;
  if (i + 34 > m.length || m[i] !== 3) return bad;
  i += 34;
  if (i + 1 > m.length) return bad;
  const sid = m[i]!;
  if (sid > 32 || i + 1 + sid > m.length) return bad;
  i += 1 + sid;
  if (i + 2 > m.length) return bad;
  const cs = m.readUInt16BE(i);
  if (cs < 2 || cs % 2 !== 0 || i + 2 + cs > m.length) return bad;
  i += 2 + cs;
  if (i + 1 > m.length) return bad;
  const cm = m[i]!;
  if (cm < 1 || i + 1 + cm > m.length) return bad;
  i += 1 + cm;
  if (i === m.length) return { kind: 'tls', sni: null, alpn: [] };
  if (i + 2 > m.length || i + 2 + m.readUInt16BE(i) !== m.length) return bad;
  i += 2;
  let sni: string | null = null;
  let alpn: string[] = [];
  const seen = new Set<number>();
  while (i < m.length) {
    if (i + 4 > m.length) return bad;
    const type = m.readUInt16BE(i);
    const len = m.readUInt16BE(i + 2);
    const d = m.subarray(i + 4, i + 4 + len);
    if (d.length < len) return bad;
    if (type === 0 || type === 16) {
      if (seen.has(type)) return bad;
      seen.add(type);
    }
    if (type === 0 && len > 0) {
      if (len < 2 || d.readUInt16BE(0) !== len - 2 || len === 2) return bad;
      for (let j = 2; j < len;) {
        if (j + 3 > len) return bad;
        const nl = d.readUInt16BE(j + 1);
        if (nl === 0 || j + 3 + nl > len) return bad;
        const name = d.subarray(j + 3, j + 3 + nl);
        if (d[j] === 0 && sni === null) {
          if (name.includes(0)) return bad;
          sni = name.toString('latin1');
        }
        j += 3 + nl;
      }
    } else if (type === 16) {
      if (len < 2 || d.readUInt16BE(0) !== len - 2 || len - 2 < 2) return bad;
      const list: string[] = [];
      for (let j = 2; j < len;) {
        const pl = d[j]!;
        if (pl === 0 || j + 1 + pl > len) return bad;
        list.push(d.subarray(j + 1, j + 1 + pl).toString('latin1'));
        j += 1 + pl;
      }
      alpn = list;
    }
    i += 4 + len;
  }
  return { kind: 'tls', sni, alpn };
}

/** Re-records `hello`'s handshake payload in records of at most `size` bytes each. */
export function refragment(hello: Buffer, size: number): Buffer {
  const payload: Buffer[] = [];
  let at = 0;
  while (at + 5 <= hello.length) {
    const len = hello.readUInt16BE(at + 3);
    payload.push(hello.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  const p = Buffer.concat(payload);
  const out: Buffer[] = [];
  for (let i = 0; i < p.length; i += size) {
    const part = p.subarray(i, i + size);
    const h = Buffer.from([22, 3, 1, 0, 0]);
    h.writeUInt16BE(part.length, 3);
    out.push(h, part);
  }
  return Buffer.concat(out);
}
