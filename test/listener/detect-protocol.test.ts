// detectProtocol (host/listener/protocol-sniff.ts): Istio's sniffing of a port of unknown
// protocol. Examples for each verdict, then properties: the verdict never changes once given
// (more bytes cannot turn HTTP into TCP), every prefix of a request line is undecided, and
// arbitrary bytes that start none of the known openings are TCP at once.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { detectProtocol, HTTP2_PREFACE } from '../../host/listener/protocol-sniff.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

describe('detectProtocol', () => {
  it('tells HTTP/1, the HTTP/2 preface, TLS and anything else apart', () => {
    expect(detectProtocol(b('GET / HTTP/1.1\r\n'))).toBe('http1');
    expect(detectProtocol(b('POST /x HTTP/1.0\r\n'))).toBe('http1');
    expect(detectProtocol(HTTP2_PREFACE)).toBe('http2');
    expect(detectProtocol(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe('tls');
    expect(detectProtocol(b('*1\r\n$4\r\nPING\r\n'))).toBe('tcp'); // Redis
    expect(detectProtocol(b('SSH-2.0-OpenSSH\r\n'))).toBe('tcp');
    expect(detectProtocol(new Uint8Array([0x16, 0x01]))).toBe('tcp');
    expect(detectProtocol(b('get / HTTP/1.1\r\n'))).toBe('tcp'); // methods are case-sensitive
  });

  it('waits for more on a beginning of a method, of the preface, or of a TLS record', () => {
    for (const s of ['G', 'GE', 'GET', 'P', 'PR', 'PRI * HTTP/2.0', 'DEL', 'OPTION']) expect(detectProtocol(b(s)), s).toBeNull();
    expect(detectProtocol(new Uint8Array([0x16]))).toBeNull();
    expect(detectProtocol(new Uint8Array([]))).toBeNull();
  });

  it('property: once decided, more bytes never change the verdict', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (head, tail) => {
      const first = detectProtocol(head);
      if (first === null) return;
      expect(detectProtocol(Buffer.concat([head, tail]))).toBe(first);
    }));
  });

  it('property: every proper prefix of a request line is undecided, the line itself HTTP/1', () => {
    fc.assert(fc.property(fc.constantFrom(...METHODS), fc.stringMatching(/^\/[a-z0-9/]{0,20}$/), (method, path) => {
      const line = b(`${method} ${path} HTTP/1.1\r\n`);
      for (let n = 1; n <= method.length; n++) expect(detectProtocol(line.subarray(0, n))).toBeNull();
      expect(detectProtocol(line)).toBe('http1');
    }));
  });

  it('property: bytes whose first byte opens no method, preface or TLS record are TCP at once', () => {
    const openers = new Set([0x16, ...METHODS.map((m) => m.charCodeAt(0)), 'M'.charCodeAt(0), 'L'.charCodeAt(0), 'U'.charCodeAt(0), 'S'.charCodeAt(0), 'R'.charCodeAt(0), 'N'.charCodeAt(0)]);
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((a) => !openers.has(a[0]!)), (bytes) => {
      expect(detectProtocol(bytes)).toBe('tcp');
    }));
  });
});
