// Ports for tests: one a child process may bind next (freePort, below the kernel's ephemeral
// range), one nothing listens on (closedPort, for connection-refused cases), and one held busy
// by a listening server (busyPort, for "already in use" errors).
import net from 'node:net';
import type { AddressInfo } from 'node:net';

// One implementation for the benchmark and the tests: bench/e2e/processes.ts says why the range.
export { freePort } from '../../bench/e2e/processes.js';

/** A port nothing listens on (bound then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A port on 127.0.0.1 held by a listening server until close(). */
export async function busyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (s.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}
