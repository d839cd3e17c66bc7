// A port the OS says is free now, for a listener that must be named before it is bound (a demo's
// WorkloadEntry pointing at a sidecar that starts only after the control plane has read it). The
// port is released before it is returned: another process may take it first, and the later bind
// then fails with its clear ListenError rather than anything silent.
import { createServer } from 'node:net';

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port === 0 ? reject(new Error(`no free port on ${host}`)) : resolve(port)));
    });
  });
}
