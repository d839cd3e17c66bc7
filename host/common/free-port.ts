// A port free now, for a listener that must be named before it is bound (a demo's WorkloadEntry
// pointing at a sidecar that starts only after the control plane has read it). The port is
// released before it is returned, so it is picked where little else takes ports: at random below
// the kernel's ephemeral range (Linux 32768–60999), never by `listen(0)`, whose ports come from
// that range, where every outgoing connection's local port and every other `listen(0)` of the
// machine compete for it until the later bind (seen as EADDRINUSE under a busy test run). Another
// process may still take it first; the later bind then fails with its clear ListenError.
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';

/** Where ports are drawn: registered ports below Linux's default ephemeral range. */
export const FREE_PORT_RANGE = { low: 20_000, high: 32_767 } as const;

function tryBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

export async function freePort(host: string, attempts = 64): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = randomInt(FREE_PORT_RANGE.low, FREE_PORT_RANGE.high + 1);
    if (await tryBind(host, port)) return port;
  }
  throw new Error(`no free port on ${host} in ${FREE_PORT_RANGE.low}–${FREE_PORT_RANGE.high} after ${attempts} tries`);
}
