// The error for a port that cannot be bound, naming the role and the port, with a stable
// code: the most common first-run failure ("port already in use") deserves a plain message.

/** A listen failure that names the role and the port, with a stable code. */
export class ListenError extends Error {
  readonly code: string;
  readonly port: number;
  /** What was listening (`admin`, `gateway`, `demo app web-v1`): callers map it to the flag that moves it. */
  readonly role: string;
  constructor(code: string, message: string, port: number, role = '') {
    super(message);
    this.name = 'ListenError';
    this.code = code;
    this.port = port;
    this.role = role;
  }
}

export function listenError(err: NodeJS.ErrnoException, role: string, host: string, port: number): ListenError {
  if (err.code === 'EADDRINUSE') return new ListenError('port_in_use', `${role} port ${port} on ${host} is already in use`, port, role);
  if (err.code === 'EACCES') return new ListenError('port_denied', `${role} port ${port} on ${host}: permission denied`, port, role);
  if (err.code === 'EADDRNOTAVAIL') return new ListenError('address_unavailable', `${role} address ${host} is not an address of this machine`, port, role);
  return new ListenError('listen_failed', `${role} could not listen on ${host}:${port}: ${err.message}`, port, role);
}
