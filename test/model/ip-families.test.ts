// host/model/ip-families.ts: a pod's families from its addresses, and the loopback and wildcards
// istiod derives from them (IPv4 kept whenever the pod has IPv4; ::1 and :: on an IPv6-only pod).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { appLoopback, describeFamilies, ipFamiliesOf, listenWildcards, onPodWildcard, IpFamiliesError } from '../../host/model/ip-families.js';

describe('ip families', () => {
  test('IPv4-only, IPv6-only, dual-stack, none (IPv4), IPv4-mapped as IPv4, a zone kept', () => {
    expect(ipFamiliesOf(['10.0.0.5'])).toEqual({ ipv4: true, ipv6: false });
    expect(ipFamiliesOf(['fd00::5'])).toEqual({ ipv4: false, ipv6: true });
    expect(ipFamiliesOf(['10.0.0.5', 'fd00::5'])).toEqual({ ipv4: true, ipv6: true });
    expect(ipFamiliesOf([])).toEqual({ ipv4: true, ipv6: false });
    expect(ipFamiliesOf(['::ffff:10.0.0.5'])).toEqual({ ipv4: true, ipv6: false });
    expect(ipFamiliesOf(['fe80::1%eth0'])).toEqual({ ipv4: false, ipv6: true });
  });

  test('an address that is not one is an error naming where and what (lists are checked before: host/common/instance-ips.ts)', () => {
    expect(() => ipFamiliesOf(['10.0.0.5', 'pod-a'], 'INSTANCE_IPS')).toThrow(IpFamiliesError);
    expect(() => ipFamiliesOf(['10.0.0.5', 'pod-a'], 'INSTANCE_IPS')).toThrow('INSTANCE_IPS: "pod-a" is not an IP address (IP_FAMILIES_INVALID)');
    expect(() => ipFamiliesOf(['[::1]'], 'node')).toThrow(/node: "\[::1\]" is not an IP address/);
  });

  test('the families in words, as the logs say them', () => {
    expect([describeFamilies({ ipv4: true, ipv6: false }), describeFamilies({ ipv4: false, ipv6: true }), describeFamilies({ ipv4: true, ipv6: true })]).toEqual(['IPv4', 'IPv6 only', 'dual-stack']);
  });

  test('loopback and wildcards: IPv4 whenever the pod has IPv4, IPv6 only on an IPv6-only pod, both wildcards when dual-stack', () => {
    expect([appLoopback({ ipv4: true, ipv6: false }), listenWildcards({ ipv4: true, ipv6: false })]).toEqual(['127.0.0.1', ['0.0.0.0']]);
    expect([appLoopback({ ipv4: false, ipv6: true }), listenWildcards({ ipv4: false, ipv6: true })]).toEqual(['::1', ['::']]);
    expect([appLoopback({ ipv4: true, ipv6: true }), listenWildcards({ ipv4: true, ipv6: true })]).toEqual(['127.0.0.1', ['0.0.0.0', '::']]);
  });

  test('property: the families are exactly those of the addresses, order and duplicates aside', () => {
    const addr = fc.oneof(fc.ipV4().map((a) => ({ a, v: 4 })), fc.ipV6().map((a) => ({ a, v: 6 })));
    fc.assert(fc.property(fc.array(addr, { minLength: 1, maxLength: 6 }), (xs) => {
      const f = ipFamiliesOf(xs.map((x) => x.a));
      // fast-check's ipV6 may write an IPv4-mapped address: it counts as IPv4.
      const v4 = xs.some((x) => x.v === 4 || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(x.a));
      const v6 = xs.some((x) => x.v === 6 && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(x.a));
      expect(f).toEqual({ ipv4: v4, ipv6: v6 });
      expect(appLoopback(f)).toBe(v4 ? '127.0.0.1' : '::1');
      expect(listenWildcards(f)[0]).toBe(v4 ? '0.0.0.0' : '::');
    }));
  });

  test('onPodWildcard: a 0.0.0.0 default moves to [::] on a pod with IPv6 (dual-stack included: such a socket takes IPv4 too); other addresses stay', () => {
    const v4 = { ipv4: true, ipv6: false };
    const v6 = { ipv4: false, ipv6: true };
    const dual = { ipv4: true, ipv6: true };
    expect(onPodWildcard('0.0.0.0:15090', v4)).toBe('0.0.0.0:15090');
    expect(onPodWildcard('0.0.0.0:15090', v6)).toBe('[::]:15090');
    expect(onPodWildcard('0.0.0.0:15020', dual)).toBe('[::]:15020');
    expect(onPodWildcard('127.0.0.1:15000', v6)).toBe('127.0.0.1:15000');
    expect(onPodWildcard('10.0.0.0:15090', v6)).toBe('10.0.0.0:15090');
  });
});
