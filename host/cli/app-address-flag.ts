// `--app-address <ip>`: where the sidecar's inbound listener reaches the app (the inbound
// clusters' endpoint, HTTP and TCP alike). Unless given, the pod's loopback for its families, as
// istiod picks it from the proxy's IP mode (host/model/ip-families.ts): ::1 on an IPv6-only pod,
// else 127.0.0.1. The pod's addresses are Istio's INSTANCE_IPS (the injector's status.podIPs),
// else the addresses of its interfaces (what pilot-agent reads when no INSTANCE_IPS is set:
// loopback and link-local left out, as they are no pod address). An INSTANCE_IPS entry that is
// not an IP address is skipped with a warning, as the control plane skips it in node metadata
// (host/common/instance-ips.ts); none left: the interfaces, as pilot-agent falls back to them.
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { UsageError, type FlagSpec, type FlagValues } from './args.js';
import { appLoopback, ipFamiliesOf, type IpFamilies } from '../model/ip-families.js';
import { describeSkippedInstanceIps, parseInstanceIps } from '../common/instance-ips.js';

export const APP_ADDRESS_FLAG: FlagSpec = {
  name: 'app-address',
  kind: 'string',
  valueName: '<ip>',
  help: 'where inbound traffic reaches the app (a loopback address of the pod)',
  defaultText: '::1 on an IPv6-only pod ($INSTANCE_IPS, else its interfaces), else 127.0.0.1',
};

/** The pod's own addresses on its interfaces: not loopback, not link-local (fe80::/10, 169.254/16). */
export function podInterfaceAddresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  const out: string[] = [];
  for (const list of Object.values(ifaces)) {
    for (const i of list ?? []) {
      if (i.internal) continue;
      if (i.family === 'IPv6' && /^fe[89ab][0-9a-f]:/i.test(i.address)) continue;
      if (i.family === 'IPv4' && i.address.startsWith('169.254.')) continue;
      out.push(i.address);
    }
  }
  return out;
}

/** The pod's addresses, where they were read, and their families. */
export interface PodAddresses {
  readonly addresses: readonly string[];
  readonly from: 'INSTANCE_IPS' | 'interfaces';
  readonly families: IpFamilies;
}

/**
 * The pod's addresses: INSTANCE_IPS's valid entries (each bad one said to `warn`), else its
 * interfaces' (INSTANCE_IPS unset, blank, or without a valid entry). Never refuses.
 */
export function podAddresses(env: NodeJS.ProcessEnv, warn: (message: string) => void, interfaces: () => string[] = podInterfaceAddresses): PodAddresses {
  const listed = env.INSTANCE_IPS;
  if (listed !== undefined && listed.trim() !== '') {
    const { addresses, skipped } = parseInstanceIps(listed);
    if (skipped.length > 0) warn(describeSkippedInstanceIps('INSTANCE_IPS', skipped, addresses.length > 0 ? `the pod's addresses are ${addresses.join(',')}` : 'no address left: the interfaces\' addresses stand in'));
    if (addresses.length > 0) return { addresses, from: 'INSTANCE_IPS', families: ipFamiliesOf(addresses) };
  }
  const own = interfaces();
  return { addresses: own, from: 'interfaces', families: ipFamiliesOf(own) };
}

/** --app-address (an IP address, unbracketed), else the pod's loopback for its families. */
export function appAddressFromFlags(command: string, values: FlagValues, families: IpFamilies): string {
  const given = values['app-address'] as string | undefined;
  if (given === undefined) return appLoopback(families);
  if (isIP(given) === 0) throw new UsageError(command, `--app-address: "${given}" is not an IP address (write IPv6 without brackets: ::1)`);
  return given;
}
