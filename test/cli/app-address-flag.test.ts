// host/cli/app-address-flag.ts: --app-address, else the pod's loopback from INSTANCE_IPS (bad
// entries skipped with a warning, as the control plane skips them), else from its interfaces
// (loopback and link-local left out).
// (podAddresses is not read when the flag is given: the sidecar reads it anyway, for its wildcards.)
import { describe, expect, test } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import { appAddressFromFlags as fromFlags, podAddresses, podInterfaceAddresses } from '../../host/cli/app-address-flag.js';

const noWarning = (m: string): never => { throw new Error(`unexpected warning: ${m}`); };
/** The flag as the sidecar reads it: --app-address, else the families of INSTANCE_IPS or the interfaces. */
const appAddressFromFlags = (cmd: string, values: Record<string, string>, env: NodeJS.ProcessEnv, interfaces: () => string[], warn: (m: string) => void = noWarning): string =>
  fromFlags(cmd, values, values['app-address'] !== undefined ? { ipv4: true, ipv6: false } : podAddresses(env, warn, interfaces).families);

const CMD = 'wasmesh sidecar';
const none = (): string[] => { throw new Error('interfaces read although INSTANCE_IPS is set'); };

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  return family === 'IPv4'
    ? { address, family, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }
    : { address, family, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 };
}

describe('--app-address', () => {
  test('given: any IP address, IPv6 unbracketed; anything else a usage error saying how to write it', () => {
    expect(appAddressFromFlags(CMD, { 'app-address': '::1' }, {}, none)).toBe('::1');
    expect(appAddressFromFlags(CMD, { 'app-address': '127.0.0.1' }, { INSTANCE_IPS: 'fd00::5' }, none)).toBe('127.0.0.1');
    expect(() => appAddressFromFlags(CMD, { 'app-address': '[::1]' }, {}, none)).toThrow(/--app-address: "\[::1\]" is not an IP address \(write IPv6 without brackets: ::1\)/);
    expect(() => appAddressFromFlags(CMD, { 'app-address': 'localhost' }, {}, none)).toThrow(/not an IP address/);
  });

  test('INSTANCE_IPS: ::1 for an IPv6-only pod, 127.0.0.1 with any IPv4', () => {
    expect(appAddressFromFlags(CMD, {}, { INSTANCE_IPS: 'fd00::5' }, none)).toBe('::1');
    expect(appAddressFromFlags(CMD, {}, { INSTANCE_IPS: 'fd00::5,10.0.0.5' }, none)).toBe('127.0.0.1');
  });

  test('a bad INSTANCE_IPS entry is skipped with a warning naming it (as pilot-agent and the control plane skip it), never refused', () => {
    const warned: string[] = [];
    expect(podAddresses({ INSTANCE_IPS: 'fd00::5,pod,[fd00::6]' }, (m) => warned.push(m), none)).toEqual({ addresses: ['fd00::5'], from: 'INSTANCE_IPS', families: { ipv4: false, ipv6: true } });
    expect(warned).toEqual(['INSTANCE_IPS: skipped "pod" is not an IP address; "[fd00::6]" is not an IP address (write IPv6 without brackets); the pod\'s addresses are fd00::5']);
    expect(appAddressFromFlags(CMD, {}, { INSTANCE_IPS: 'fd00::5,pod' }, none, () => {})).toBe('::1');
  });

  test('no valid INSTANCE_IPS entry: the interfaces stand in, and the warning says so', () => {
    const warned: string[] = [];
    expect(podAddresses({ INSTANCE_IPS: 'pod-a, ' }, (m) => warned.push(m), () => ['fd00:5ee::2'])).toEqual({ addresses: ['fd00:5ee::2'], from: 'interfaces', families: { ipv4: false, ipv6: true } });
    expect(warned).toEqual(['INSTANCE_IPS: skipped "pod-a" is not an IP address; no address left: the interfaces\' addresses stand in']);
  });

  test('no INSTANCE_IPS: the interfaces decide; no address at all reads as IPv4', () => {
    expect(appAddressFromFlags(CMD, {}, {}, () => ['fd00:5ee::2'])).toBe('::1');
    expect(appAddressFromFlags(CMD, {}, { INSTANCE_IPS: '' }, () => ['198.51.100.2', 'fd00:5ee::2'])).toBe('127.0.0.1');
    expect(appAddressFromFlags(CMD, {}, {}, () => [])).toBe('127.0.0.1');
  });

  test('the pod\'s interface addresses leave out loopback and link-local (an IPv6-only pod has fe80:: but no IPv4)', () => {
    const ifaces = {
      lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
      eth0: [iface('fd00:5ee::2', 'IPv6'), iface('fe80::a8c1:abff:fe12:3456', 'IPv6'), iface('169.254.1.1', 'IPv4')],
    };
    expect(podInterfaceAddresses(ifaces)).toEqual(['fd00:5ee::2']);
    expect(appAddressFromFlags(CMD, {}, {}, () => podInterfaceAddresses(ifaces))).toBe('::1');
  });
});
