// The SNI read from a real ClientHello (node:tls as the client), byte by byte, and what is not one.
import { describe, it, expect } from 'vitest';
import { createServer, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { clientHelloSni } from '../../host/tls/client-hello-sni.js';

/** The first bytes a TLS client sends (its ClientHello record). */
function helloOf(servername: string | undefined, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((s: Socket) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const c = connect({ host: '127.0.0.1', port, servername, maxVersion, rejectUnauthorized: false });
      c.on('error', () => {});
    });
  });
}

describe('clientHelloSni', () => {
  it('reads the server name of TLS 1.3 and 1.2 ClientHellos, lower-cased', async () => {
    expect(clientHelloSni(await helloOf('Web.Example.com'))).toEqual({ kind: 'hello', name: 'web.example.com' });
    expect(clientHelloSni(await helloOf('api.example.com', 'TLSv1.2'))).toEqual({ kind: 'hello', name: 'api.example.com' });
  });

  it('a ClientHello without SNI has name null', async () => {
    // node:tls sends no SNI for an IP address
    expect(clientHelloSni(await helloOf(undefined))).toEqual({ kind: 'hello', name: null });
  });

  it('asks for more until the record is whole, at every cut', async () => {
    const hello = await helloOf('web.example.com');
    for (let n = 0; n < hello.length; n++) expect(clientHelloSni(hello.subarray(0, n)).kind).toBe('more');
  });

  it('plaintext and a record that is not a ClientHello are not TLS', () => {
    expect(clientHelloSni(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
    expect(clientHelloSni(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0]))).toEqual({ kind: 'not-tls' });
    expect(clientHelloSni(Buffer.from([0x16, 0x03, 0x01, 0x7f, 0xff]))).toEqual({ kind: 'not-tls' });
  });
});
