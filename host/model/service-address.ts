// A service port by the address a client dials (Istio's outbound listeners keyed by a Service's
// VIP and port, `10.0.0.5_6379`, or `0.0.0.0_6379` for a TCP port of a service without one): what
// a sidecar that sees the original destination (TPROXY) uses to tell which service a connection
// is for, and so which protocol it speaks (port-protocol.ts) and which cluster takes it.
import type { PortProtocol } from './port-protocol.js';

export interface ServiceAddress {
  /** A ServiceEntry `addresses` entry: an IPv4/IPv6 address or CIDR; null: any address (no VIP). */
  address: string | null;
  port: number;
  protocol: PortProtocol;
  /** The service's host (FQDN), for `tcp:` routes whose hosts name it. */
  host: string;
  /** Its default cluster, `outbound|<port>||<host>`. */
  cluster: string;
}
