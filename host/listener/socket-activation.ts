// Listening sockets handed over by systemd's socket-activation protocol (sd_listen_fds(3)):
// descriptors 3.. with LISTEN_FDS (how many), LISTEN_PID (the process they are meant for) and
// LISTEN_FDNAMES (colon-separated names). docker/wasmesh-listen.c makes them with IP_TRANSPARENT
// for TPROXY capture, which Node cannot set itself; a systemd `.socket` unit with
// `Transparent=yes` and `FileDescriptorName=` gives the same. Read once at start, validated:
// a mismatch is a clear error rather than a listener on someone else's descriptor.

/** The first descriptor of the protocol (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export class SocketActivationError extends Error {
  readonly code = 'SOCKET_ACTIVATION';
  constructor(message: string) {
    super(`wasmesh: socket activation: ${message} (SOCKET_ACTIVATION)`);
  }
}

/** The descriptors passed to this process, by name; empty when LISTEN_FDS is not set. */
export type ActivatedSockets = ReadonlyMap<string, number>;

/**
 * Reads LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES from `env`. `known`: the names this process
 * takes (an unknown or missing-but-required name is refused by the caller's `take`). Throws
 * SocketActivationError when LISTEN_PID names another process (the descriptors were inherited
 * past their owner), LISTEN_FDS is not a count, or the names do not match the count.
 */
export function activatedSockets(env: Readonly<Record<string, string | undefined>>, pid: number, known: readonly string[]): ActivatedSockets {
  const fds = env.LISTEN_FDS;
  if (fds === undefined || fds === '') return new Map();
  if (!/^[1-9][0-9]{0,3}$/.test(fds)) throw new SocketActivationError(`LISTEN_FDS=${JSON.stringify(fds)} is not a count of descriptors (1..9999)`);
  const count = Number(fds);
  const owner = env.LISTEN_PID;
  if (owner === undefined || !/^[0-9]+$/.test(owner)) throw new SocketActivationError(`LISTEN_FDS is set but LISTEN_PID=${JSON.stringify(owner ?? null)} is not a pid`);
  if (Number(owner) !== pid) throw new SocketActivationError(`LISTEN_PID=${owner} is not this process (${pid}): the descriptors were meant for another process (start the proxy directly under the launcher: exec, no shell in between that forks)`);
  const rawNames = env.LISTEN_FDNAMES;
  if (rawNames === undefined) throw new SocketActivationError(`LISTEN_FDNAMES is not set: ${count} descriptor(s) without names (name them ${known.map((k) => `'${k}'`).join(', ')})`);
  const names = rawNames.split(':');
  if (names.length !== count) throw new SocketActivationError(`LISTEN_FDNAMES=${JSON.stringify(rawNames)} names ${names.length} descriptor(s), LISTEN_FDS=${count}`);
  const out = new Map<string, number>();
  names.forEach((name, i) => {
    if (!known.includes(name)) throw new SocketActivationError(`descriptor ${LISTEN_FDS_START + i} is named ${JSON.stringify(name)}; known names: ${known.map((k) => `'${k}'`).join(', ')}`);
    if (out.has(name)) throw new SocketActivationError(`the name ${JSON.stringify(name)} is given to descriptors ${out.get(name)} and ${LISTEN_FDS_START + i}`);
    out.set(name, LISTEN_FDS_START + i);
  });
  return out;
}
