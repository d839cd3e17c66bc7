// The error for a port that cannot be bound, naming the role and the port, with a stable
// code: the most common first-run failure ("port already in use") deserves a plain message.

/** A listen failure that names the role and the port, with a stable code. */
export class ListenError extends Error {
  readonly code: string;
  readonly port: number;
  constructor(code: string, message: string, port: number) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
    this.port = port;
  }
}

export function listenError(err: NodeJS.ErrnoException, role: string, host: string, port: number): ListenError {
  if (err.code === 'EADDRINUSE') return new ListenError('port_in_use', `${role} port ${port} on ${host} is already in use`, port);
  if (err.code === 'EACCES') return new ListenError('port_denied', `${role} port ${port} on ${host}: permission denied`, port);
  if (err.code === 'EADDRNOTAVAIL') return new ListenError('address_unavailable', `${role} address ${host} is not an address of this machine`, port);
  return new ListenError('listen_failed', `${role} could not listen on ${host}:${port}: ${err.message}`, port);
}
