// Where a passthrough (original-destination) request may not go: back into this proxy. Without
// iptables the original destination is the request's authority, which any client writes; an
// authority naming one of the proxy's own ports on one of its own addresses would loop the
// request into its listener (a request storm) or reach the admin API (config dump, /quitquitquit)
// from the data path. Such a destination gets no endpoint (503 UH), as a refused pick.
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

export class PassthroughGuard {
  readonly #ports: () => Iterable<number>;
  readonly #local: ReadonlySet<string>;

  /** `ports`: the proxy's listener, admin and health ports, read at each pick (port 0 binds late). */
  constructor(ports: () => Iterable<number>) {
    this.#ports = ports;
    const local = new Set<string>(['0.0.0.0', '::']);
    // The host's own addresses at start; loopback ranges are matched below whatever is configured.
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address.toLowerCase());
    this.#local = local;
  }

  /**
   * True when `address:port` is, or may be, this proxy itself. A DNS name is resolved only when
   * the connection is made, and any name may resolve to a loopback address: at one of the
   * proxy's ports it is refused (fail closed).
   */
  refuses(address: string, port: number): boolean {
    if (isIP(address) !== 0 && !isLocalAddress(address, this.#local)) return false;
    for (const p of this.#ports()) if (p === port) return true;
    return false;
  }
}

/** Loopback (127/8, ::1, IPv4-mapped loopback), unspecified, or one of the host's own addresses. */
export function isLocalAddress(address: string, local: ReadonlySet<string>): boolean {
  let a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  if (isIP(a) === 4 && a.startsWith('127.')) return true;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  return local.has(a);
}
