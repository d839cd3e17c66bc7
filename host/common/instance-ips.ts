// A pod's instance addresses as one comma-separated list: Istio's INSTANCE_IPS (the injector's
// status.podIPs in the sidecar's environment; node metadata INSTANCE_IPS on the xDS stream). Read
// the same way on both sides: blanks are no entry, an entry that is not an IP address is skipped
// and said why, the rest kept in order (the first is the pod's primary address). pilot-agent
// never refuses to start over its pod address: `netip.ParseAddr(INSTANCE_IP)` failing just leaves
// the address out (pilot/cmd/pilot-agent/app/cmd.go initProxy), and the interfaces' addresses
// stand in; the callers here fall back the same way when no entry is left.
import { isIP } from 'node:net';
import { unmappedAddress } from './host-port.js';

export interface InstanceIps {
  /** The valid entries, trimmed, in order (IPv4-mapped and zoned addresses as written). */
  readonly addresses: readonly string[];
  /** Each entry left out, with why: `"pod-a" is not an IP address`. */
  readonly skipped: readonly string[];
}

/** Whether `text` is one IP address (IPv4, IPv6, IPv4-mapped, or IPv6 with a `%zone`), unbracketed. */
export function isInstanceIp(text: string): boolean {
  return isIP(unmappedAddress(text).replace(/%[^%]+$/, '')) !== 0;
}

/** Splits and checks an INSTANCE_IPS list (`10.0.0.5,fd00::5`). Never throws. */
export function parseInstanceIps(text: string): InstanceIps {
  const addresses: string[] = [];
  const skipped: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (isInstanceIp(entry)) addresses.push(entry);
    else skipped.push(`${JSON.stringify(entry)} is not an IP address${/^\[.*\]$/.test(entry) ? ' (write IPv6 without brackets)' : ''}`);
  }
  return { addresses, skipped };
}

/** One warning line for what `where` (INSTANCE_IPS, or the node's metadata) had skipped, and what stood in. */
export function describeSkippedInstanceIps(where: string, skipped: readonly string[], instead: string): string {
  return `${where}: skipped ${skipped.join('; ')}; ${instead}`;
}
