// Turns a uWS listen failure into a clear one: uWS reports only that listening failed, not why,
// so the same address is bound once with node:net to learn the errno ("gateway port 8080 on
// 127.0.0.1 is already in use") instead of a bare failure.
import { createServer } from 'node:net';
import { listenError } from '../common/listen-error.js';
import type { HostPort } from '../common/host-port.js';

/** The ListenError for `role` at `at` when a probe bind fails; otherwise `original`. */
export function explainListenFailure(role: string, at: HostPort, original: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(listenError(err, role, at.host, at.port)));
    probe.listen(at.port, at.host, () => probe.close(() => resolve(original)));
  });
}
