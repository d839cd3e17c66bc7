// Where the workload agent serves SDS: Istio's path for the workload socket,
// `./var/run/secrets/workload-spiffe-uds/socket`, taken relative to a directory (Istio's agent
// runs with `/` as its working directory, so the socket is /var/run/secrets/…; on one machine
// each workload's agent gets its own directory).
import { resolve } from 'node:path';

/** Istio's workload SDS socket, relative to the agent's directory (pkg/security: WorkloadIdentitySocketPath). */
export const SDS_SOCKET_RELATIVE = 'var/run/secrets/workload-spiffe-uds/socket';

/** The directory the socket path is taken from without --socket-dir: the working directory, as Istio's agent. */
export const DEFAULT_SOCKET_DIR = '.';

/** The absolute socket path under `socketDir`. */
export function sdsSocketPath(socketDir: string = DEFAULT_SOCKET_DIR): string {
  return resolve(socketDir, SDS_SOCKET_RELATIVE);
}
