// `--app-address <ip>`: where the sidecar's inbound listener reaches the app (the inbound
// clusters' endpoint, HTTP and TCP alike). Unless given, the pod's loopback for its families, as
// istiod picks it from the proxy's IP mode (host/model/ip-families.ts): ::1 on an IPv6-only pod,
// else 127.0.0.1. The pod's addresses are Istio's INSTANCE_IPS (the injector's status.podIPs),
// else the addresses of its interfaces (what pilot-agent reads when no INSTANCE_IPS is set:
// loopback and link-local left out, as they are no pod address).
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { UsageError, type FlagSpec, type FlagValues } from './args.js';
import { appLoopback, ipFamiliesOf, ipFamiliesOfList, IpFamiliesError, type IpFamilies } from '../model/ip-families.js';

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

/** The pod's families: INSTANCE_IPS when set (a bad entry is a usage error naming it), else its interfaces. */
export function podFamilies(command: string, env: NodeJS.ProcessEnv, interfaces: () => string[] = podInterfaceAddresses): IpFamilies {
  const listed = env.INSTANCE_IPS;
  if (listed === undefined || listed.trim() === '') return ipFamiliesOf(interfaces());
  try {
    return ipFamiliesOfList(listed, 'INSTANCE_IPS');
  } catch (err) {
    if (err instanceof IpFamiliesError) throw new UsageError(command, err.message);
    throw err;
  }
}

/** --app-address (an IP address, unbracketed), else the pod's loopback for its families. */
export function appAddressFromFlags(command: string, values: FlagValues, families: IpFamilies): string {
  const given = values['app-address'] as string | undefined;
  if (given === undefined) return appLoopback(families);
  if (isIP(given) === 0) throw new UsageError(command, `--app-address: "${given}" is not an IP address (write IPv6 without brackets: ::1)`);
  return given;
}
