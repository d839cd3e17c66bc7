// One TLS server of the stack comparison (bench/tls/stack.ts), in its own process: node:tls
// (OpenSSL) or uWebSockets.js SSLApp (BoringSSL), both answering every HTTP/1.1 request with
// 200 `ok` on keep-alive, TLS 1.3 with an ECDSA P-256 certificate. The parent asks over IPC for
// the process's RSS (after a GC) and CPU time.
import { createServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import uws from 'uWebSockets.js';

const [stack, certDir] = process.argv.slice(2) as [string, string];
const certFile = join(certDir, 'server.crt');
const keyFile = join(certDir, 'server.key');
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', 'latin1');
const END = Buffer.from('\r\n\r\n', 'latin1');
let open = 0;

function ready(port: number): void {
  process.send!({ ready: port });
}

if (stack === 'node') {
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' }, (s) => {
    open++;
    s.setNoDelay(true);
    // Requests are counted by their head ends (bodiless GETs); a tail of 3 bytes spans reads.
    let tail: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      const b = tail.length > 0 ? Buffer.concat([tail, d]) : d;
      let at = 0;
      let n = 0;
      while ((at = b.indexOf(END, at)) >= 0) {
        n++;
        at += 4;
      }
      tail = b.subarray(Math.max(0, b.length - 3));
      if (n === 1) s.write(RESPONSE);
      else if (n > 1) s.write(Buffer.concat(Array(n).fill(RESPONSE)));
    });
    s.on('error', () => {});
    s.on('close', () => open--);
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1', 65535, () => ready((server.address() as AddressInfo).port));
} else if (stack === 'uws') {
  const app = uws.SSLApp({ key_file_name: keyFile, cert_file_name: certFile });
  app.get('/*', (res) => {
    res.end('ok');
  });
  app.listen('127.0.0.1', 0, (token) => {
    if (!token) throw new Error('uws: listen failed');
    ready(uws.us_socket_local_port(token));
  });
} else {
  throw new Error(`stack-server: unknown stack ${stack} (node | uws)`);
}

process.on('message', (m: string) => {
  if (m === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    process.send!({ rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, open: stack === 'node' ? open : null });
  } else if (m === 'exit') process.exit(0);
});
