// The core's ClientHello reader (Envoy's tls_inspector): real ClientHellos captured from
// node:tls, openssl s_client and curl; SNI and ALPN as sent; a hello split at every byte and
// re-recorded into 1-byte records; missing SNI; not TLS; malformed fields; the 64 KiB limit;
// and fast-check: never throws, any split gives the one-shot answer, and the answer equals
// the TypeScript reference reader's (test/helpers/client-hello-capture.ts).
import { describe, test, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { ClientHelloReader, parseClientHello, DEFAULT_MAX_CLIENT_HELLO, type ClientHelloResult } from '../../../host/core/tls/client-hello.js';
import { commandHello, nodeTlsHello, referenceClientHello, refragment, type ReferenceResult } from '../../helpers/client-hello-capture.js';

let core: Core | undefined;
const testCore = (): Core => (core ??= new Core());
const parse = (b: Uint8Array, max?: number): ClientHelloResult => parseClientHello(testCore(), b, max);

/** The core's answer in the reference's shape. */
function shape(r: ClientHelloResult): ReferenceResult {
  if (r.kind === 'tls') return { kind: 'tls', sni: r.sni, alpn: [...r.alpn] };
  return { kind: r.kind } as ReferenceResult;
}

/** Feeds `b` in the given chunk sizes (cycled) and returns the final answer. */
function pushIn(b: Uint8Array, sizes: number[], max?: number): ClientHelloResult {
  const r = new ClientHelloReader(testCore(), max);
  try {
    let at = 0;
    let k = 0;
    let res: ClientHelloResult = r.result;
    while (at < b.length) {
      const n = Math.max(1, sizes[k++ % sizes.length]!);
      res = r.push(b.subarray(at, at + n));
      at += n;
    }
    return res;
  } finally {
    r.release();
  }
}

/** `hello` (one record) with a padding extension (type 21) of `n` bytes, re-recorded by 16 KiB. */
function padded(hello: Buffer, n: number): Buffer {
  const recLen = hello.readUInt16BE(3);
  const m = Buffer.from(hello.subarray(5, 5 + recLen));
  // Find the extensions block: after version, random, session id, cipher suites, compression.
  let i = 4 + 34;
  i += 1 + m[i]!;
  i += 2 + m.readUInt16BE(i);
  i += 1 + m[i]!;
  const ext = Buffer.alloc(4 + n);
  ext.writeUInt16BE(21, 0);
  ext.writeUInt16BE(n, 2);
  const out = Buffer.concat([m, ext]);
  out.writeUInt16BE(m.readUInt16BE(i) + ext.length, i);
  const hsLen = out.length - 4;
  out[1] = (hsLen >> 16) & 0xff;
  out[2] = (hsLen >> 8) & 0xff;
  out[3] = hsLen & 0xff;
  const rec = Buffer.concat([Buffer.from([22, 3, 1, 0, 0]), out]);
  rec.writeUInt16BE(Math.min(out.length, 0xffff), 3);
  return refragment(rec.length - 5 > 16384 ? fixLen(rec) : rec, 16384);
}
/** A too-long single record read back by refragment (which trusts the 16-bit length): write the payload as one buffer. */
function fixLen(rec: Buffer): Buffer {
  const payload = rec.subarray(5);
  const parts: Buffer[] = [];
  for (let i = 0; i < payload.length; i += 16384) {
    const part = payload.subarray(i, i + 16384);
    const h = Buffer.from([22, 3, 1, 0, 0]);
    h.writeUInt16BE(part.length, 3);
    parts.push(h, part);
  }
  return Buffer.concat(parts);
}

let nodeSni: Buffer;
let nodeNoSni: Buffer;
let nodeAlpn: Buffer;
let nodeTls12: Buffer;
let opensslHello: Buffer;
let curlHello: Buffer;

beforeAll(async () => {
  nodeSni = await nodeTlsHello('backend-a.example.com');
  nodeNoSni = await nodeTlsHello(''); // node:tls sends no SNI for an empty servername
  nodeAlpn = await nodeTlsHello('h2.example.com', ['h2', 'http/1.1']);
  nodeTls12 = await nodeTlsHello('old.example.com', undefined, { maxVersion: 'TLSv1.2' });
  opensslHello = await commandHello('openssl', (port) => ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'openssl.example.org', '-alpn', 'istio-peer-exchange,istio']);
  curlHello = await commandHello('curl', (port) => ['-sk', '--max-time', '5', '--http2', '--resolve', `curl.example.net:${port}:127.0.0.1`, `https://curl.example.net:${port}/`]);
}, 30_000);

describe('real ClientHellos', () => {
  test('node:tls: the SNI as sent, no ALPN', () => {
    const r = parse(nodeSni);
    expect(r).toMatchObject({ kind: 'tls', sni: 'backend-a.example.com', alpn: [], version: 0x0303, bytes: nodeSni.length });
  });
  test('node:tls without a servername: TLS, no SNI', () => {
    expect(parse(nodeNoSni)).toMatchObject({ kind: 'tls', sni: null });
  });
  test('node:tls ALPN list in order', () => {
    expect(parse(nodeAlpn)).toMatchObject({ kind: 'tls', sni: 'h2.example.com', alpn: ['h2', 'http/1.1'] });
  });
  test('node:tls capped at TLS 1.2', () => {
    expect(parse(nodeTls12)).toMatchObject({ kind: 'tls', sni: 'old.example.com', version: 0x0303 });
  });
  test('openssl s_client with -servername and -alpn', () => {
    expect(parse(opensslHello)).toMatchObject({ kind: 'tls', sni: 'openssl.example.org', alpn: ['istio-peer-exchange', 'istio'] });
  });
  test('curl --http2: SNI from the URL, ALPN h2 and http/1.1', () => {
    expect(parse(curlHello)).toMatchObject({ kind: 'tls', sni: 'curl.example.net', alpn: ['h2', 'http/1.1'] });
  });
  test('every capture agrees with the reference reader', () => {
    for (const h of [nodeSni, nodeNoSni, nodeAlpn, nodeTls12, opensslHello, curlHello]) expect(shape(parse(h))).toEqual(referenceClientHello(h));
  });
});

describe('split reads and records', () => {
  test('split at every byte: need_more before the last byte, then the one-shot answer', () => {
    const whole = parse(nodeAlpn);
    for (let cut = 1; cut < nodeAlpn.length; cut++) {
      expect(parse(nodeAlpn.subarray(0, cut)).kind, `cut at ${cut}`).toBe('need_more');
      expect(pushIn(nodeAlpn, [cut, nodeAlpn.length])).toEqual(whole);
    }
  });
  test('byte by byte', () => {
    expect(pushIn(opensslHello, [1])).toEqual(parse(opensslHello));
  });
  test('re-recorded into 1-byte, 3-byte and 100-byte handshake records', () => {
    for (const size of [1, 3, 100]) {
      const frag = refragment(curlHello, size);
      expect(frag.length).toBeGreaterThan(curlHello.length);
      expect(shape(parse(frag))).toEqual(shape(parse(curlHello)));
      expect(pushIn(frag, [7])).toMatchObject({ kind: 'tls', sni: 'curl.example.net', bytes: frag.length });
    }
  });
  test('bytes after the ClientHello (early data, a second record) are not counted in it', () => {
    const more = Buffer.concat([nodeSni, Buffer.from([23, 3, 3, 0, 2, 1, 2])]);
    expect(parse(more)).toMatchObject({ kind: 'tls', sni: 'backend-a.example.com', bytes: nodeSni.length });
  });
});

describe('not TLS, malformed', () => {
  test('plain HTTP, SSH, a TLS alert, SSLv2-style first bytes: not_tls', () => {
    for (const s of ['GET / HTTP/1.1\r\n', 'SSH-2.0-OpenSSH\r\n']) expect(parse(Buffer.from(s)).kind).toBe('not_tls');
    expect(parse(Buffer.from([21, 3, 3, 0, 2, 2, 40])).kind).toBe('not_tls');
    expect(parse(Buffer.from([0x80, 0x2e, 1, 3, 1])).kind).toBe('not_tls');
    expect(parse(Buffer.from([22, 4])).kind).toBe('not_tls');
  });
  test('empty and 1-byte inputs need more', () => {
    expect(parse(Buffer.alloc(0)).kind).toBe('need_more');
    expect(parse(Buffer.from([22])).kind).toBe('need_more');
  });
  test('a handshake that is not a ClientHello (a ServerHello): malformed at 0', () => {
    const b = Buffer.from(nodeSni);
    b[5] = 2;
    expect(parse(b)).toEqual({ kind: 'malformed', at: 0 });
  });
  test('a record of length 0 or over 2^14 first: not TLS; later: malformed', () => {
    expect(parse(Buffer.from([22, 3, 1, 0, 0])).kind).toBe('not_tls');
    expect(parse(Buffer.from([22, 3, 1, 0x40, 0x01])).kind).toBe('not_tls');
    const frag = refragment(nodeSni, 10);
    const bad = Buffer.from(frag);
    bad[15] = 23; // the second record's content type
    expect(parse(bad).kind).toBe('malformed');
  });
  test('a host_name with a NUL byte: malformed (as BoringSSL)', () => {
    const b = Buffer.from(nodeSni);
    const at = b.indexOf('backend-a');
    b[at + 3] = 0;
    expect(parse(b).kind).toBe('malformed');
    expect(referenceClientHello(b).kind).toBe('malformed');
  });
  test('a server_name list length that disagrees with the extension: malformed', () => {
    const b = Buffer.from(nodeSni);
    const at = b.indexOf('backend-a');
    // at-5: list length (2), name type (1), name length (2)
    b.writeUInt16BE(b.readUInt16BE(at - 5) + 1, at - 5);
    expect(parse(b).kind).toBe('malformed');
  });
  test('a session id longer than 32: malformed where it stands', () => {
    const b = Buffer.from(nodeSni);
    b[5 + 4 + 34] = 33;
    expect(parse(b)).toEqual({ kind: 'malformed', at: 38 });
  });
});

describe('size limit', () => {
  test('default 64 KiB: a ClientHello of ~60 KiB in 4 records is read, one over 64 KiB is too_large', () => {
    const big = padded(nodeSni, 60_000);
    expect(big.length).toBeGreaterThan(60_000);
    expect(parse(big)).toMatchObject({ kind: 'tls', sni: 'backend-a.example.com', bytes: big.length });
    // The same hello read with a limit one byte short of its records.
    expect(parse(big, big.length - 1).kind).toBe('too_large');
    expect(pushIn(big, [1000], big.length - 1)).toEqual({ kind: 'too_large' });
    // A handshake header announcing 70,000 bytes: too large, known from its first 9 bytes.
    const huge = Buffer.from(big);
    huge[6] = 1;
    huge[7] = 0x11;
    huge[8] = 0x70;
    expect(parse(huge.subarray(0, 9)).kind).toBe('too_large');
    expect(parse(huge).kind).toBe('too_large');
  });
  test('a smaller limit: the same hello is too large at 512 bytes, read at its own size', () => {
    expect(parse(nodeAlpn, 128).kind).toBe('too_large');
    expect(parse(nodeAlpn, nodeAlpn.length).kind).toBe('tls');
    expect(parse(nodeAlpn, nodeAlpn.length - 1).kind).toBe('too_large');
  });
  test('a limit above 64 KiB or below 1 is refused', () => {
    expect(() => new ClientHelloReader(testCore(), DEFAULT_MAX_CLIENT_HELLO + 1)).toThrow(/1\.\.65536/);
    expect(() => new ClientHelloReader(testCore(), 0)).toThrow(RangeError);
  });
  test('a stream of tiny records never reaching the end stops at the limit', () => {
    // A ClientHello header announcing 3,000 bytes, then 1-byte records: 6 bytes on the wire per
    // byte of message, so the 4,096-byte limit is reached before the message ends.
    const parts = [Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x0b, 0xb8])];
    const one = Buffer.from([22, 3, 1, 0, 1, 0]);
    for (let i = 0; i < 1000; i++) parts.push(one);
    const b = Buffer.concat(parts);
    expect(parse(b, 4096).kind).toBe('too_large');
    expect(parse(b).kind).toBe('need_more');
    expect(referenceClientHello(b, 4096).kind).toBe('too_large');
  });
});

describe('properties', () => {
  const hellos = (): Buffer[] => [nodeSni, nodeNoSni, nodeAlpn, opensslHello, curlHello];
  test('never throws on arbitrary bytes, and agrees with the reference', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, tlsStart) => {
      const b = tlsStart && bytes.length >= 2 ? Buffer.concat([Buffer.from([22, 3]), bytes]) : Buffer.from(bytes);
      expect(shape(parse(b))).toEqual(referenceClientHello(b));
    }), { numRuns: 2000 });
  });
  test('mutated real hellos: same answer as the reference, and any split gives the one-shot answer', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.integer({ min: 1, max: 64 }), fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 }),
      (which, flips, recordSize, sizes) => {
        const base = refragment(hellos()[which]!, recordSize);
        const b = Buffer.from(base);
        for (const [at, v] of flips) b[at % b.length] = v;
        const once = parse(b);
        expect(shape(once)).toEqual(referenceClientHello(b));
        expect(pushIn(b, sizes)).toEqual(once);
      }), { numRuns: 1500 });
  });
  test('truncated hellos need more (or are refused), never tls', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4 }), fc.nat(), (which, cut) => {
      const h = hellos()[which]!;
      const r = parse(h.subarray(0, cut % h.length));
      expect(r.kind).toBe('need_more');
    }), { numRuns: 500 });
  });
});

describe('differential with node:tls', () => {
  test('random host names: the core reads what node:tls sent, and what a node:tls server sees in SNICallback', async () => {
    const { createServer } = await import('node:tls');
    const { connect } = await import('node:net');
    const seen: string[] = [];
    const server = createServer({ SNICallback: (name, cb) => { seen.push(name); cb(new Error('test: stop after SNI')); } });
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await fc.assert(fc.asyncProperty(fc.domain({ size: 'small' }), async (name) => {
        const hello = await nodeTlsHello(name);
        const r = parse(hello);
        // The captured bytes replayed to a node:tls server: its SNICallback sees the same name.
        await new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', () => s.write(hello));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        });
        expect(r).toMatchObject({ kind: 'tls', sni: seen.at(-1) });
        expect(seen.at(-1)!.toLowerCase()).toBe(name.toLowerCase());
      }), { numRuns: 25 });
    } finally {
      server.close();
    }
  }, 60_000);
});
