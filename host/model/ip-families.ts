// The IP families a pod has, from its instance addresses (Istio's INSTANCE_IPS, status.podIPs),
// and what a proxy derives from them as istiod does (its node's IP mode, getWildcardsAndLocalHost):
// the pod's loopback (the app's address, the admin's) and the wildcard the sidecar's listeners
// bind (address lists are read by host/common/instance-ips.ts, which leaves bad entries out). A
// pod with an IPv4 address (IPv4-only or dual-stack) keeps 127.0.0.1 and 0.0.0.0; an IPv6-only
// pod (no IPv4 address but loopback's) uses ::1 and `::`, so an app listening on ::1 only is
// reached. A dual-stack pod listens on both wildcards (Envoy: `additional_addresses`; Node: one `[::]` socket).
import { isIP } from 'node:net';
import { unmappedAddress } from '../common/host-port.js';

export interface IpFamilies {
  ipv4: boolean;
  ipv6: boolean;
}

export class IpFamiliesError extends Error {
  readonly code = 'IP_FAMILIES_INVALID';
  constructor(detail: string) {
    super(`${detail} (IP_FAMILIES_INVALID)`);
    this.name = 'IpFamiliesError';
  }
}

/**
 * The families of a pod's addresses (IPv4-mapped ones count as IPv4). No address at all reads as
 * IPv4 only, as istiod treats a node that names none. Throws IpFamiliesError for text that is not
 * an IP address, naming `where` it came from.
 */
export function ipFamiliesOf(addresses: readonly string[], where = 'instance addresses'): IpFamilies {
  const f: IpFamilies = { ipv4: false, ipv6: false };
  for (const raw of addresses) {
    const a = unmappedAddress(raw.trim());
    const v = isIP(a.replace(/%.*$/, ''));
    if (v === 4) f.ipv4 = true;
    else if (v === 6) f.ipv6 = true;
    else throw new IpFamiliesError(`${where}: "${raw}" is not an IP address`);
  }
  if (!f.ipv4 && !f.ipv6) f.ipv4 = true;
  return f;
}

/**
 * The pod's localhost, 127.0.0.1 when the pod has IPv4, else ::1: where the app is reached, and
 * where the sidecar's admin API binds. Istio's bootstrap picks its `localhost` (the admin address,
 * pkg/bootstrap/config.go) the same way: ::1 when every instance address is IPv6, else 127.0.0.1
 * (its dual-stack mode, ISTIO_DUAL_STACK, takes the first address's family instead; wasmesh keeps
 * 127.0.0.1 on a dual-stack pod, where it always exists).
 */
export function appLoopback(f: IpFamilies): '127.0.0.1' | '::1' {
  return f.ipv4 ? '127.0.0.1' : '::1';
}

/**
 * The one wildcard a Node (or uWS) listener binds for the pod: `::` when the pod has IPv6 (such a
 * socket is dual-stack: IPv4 arrives IPv4-mapped), else 0.0.0.0 (`::` fails where IPv6 is off).
 */
export function socketWildcard(f: IpFamilies): '0.0.0.0' | '::' {
  return f.ipv6 ? '::' : '0.0.0.0';
}

/** A default `0.0.0.0:<port>` on the pod's wildcard: `[::]:<port>` where the pod has IPv6; anything else unchanged. */
export function onPodWildcard(address: string, f: IpFamilies): string {
  return socketWildcard(f) === '::' ? address.replace(/^0\.0\.0\.0:/, '[::]:') : address;
}

/** The wildcards a sidecar listener binds, the first its primary: 0.0.0.0, `::`, or both for dual-stack. */
export function listenWildcards(f: IpFamilies): Array<'0.0.0.0' | '::'> {
  if (f.ipv4 && f.ipv6) return ['0.0.0.0', '::'];
  return f.ipv4 ? ['0.0.0.0'] : ['::'];
}

/** The families in words, as logs say them: `IPv4`, `IPv6 only`, or `dual-stack`. */
export function describeFamilies(f: IpFamilies): 'IPv4' | 'IPv6 only' | 'dual-stack' {
  return f.ipv4 && f.ipv6 ? 'dual-stack' : f.ipv6 ? 'IPv6 only' : 'IPv4';
}
