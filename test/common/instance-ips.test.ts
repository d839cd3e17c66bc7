// host/common/instance-ips.ts: Istio's INSTANCE_IPS list as the sidecar (its environment) and the
// control plane (node metadata) both read it: blanks no entry, a bad entry skipped with why, the
// valid ones kept in order.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeSkippedInstanceIps, isInstanceIp, parseInstanceIps } from '../../host/common/instance-ips.js';

describe('INSTANCE_IPS', () => {
  it('keeps IPv4, IPv6, IPv4-mapped and zoned addresses in order, trimmed; blanks are no entry', () => {
    expect(parseInstanceIps(' 10.0.0.5 , ,fd00::5,::ffff:10.0.0.6,fe80::1%eth0,')).toEqual({
      addresses: ['10.0.0.5', 'fd00::5', '::ffff:10.0.0.6', 'fe80::1%eth0'], skipped: [],
    });
    expect(parseInstanceIps('')).toEqual({ addresses: [], skipped: [] });
    expect(parseInstanceIps(' , ')).toEqual({ addresses: [], skipped: [] });
  });

  it('skips what is not an IP address, saying which and why, and keeps the rest', () => {
    expect(parseInstanceIps('10.0.0.5,pod-a,[fd00::5],10.0.0.256,fd00::5')).toEqual({
      addresses: ['10.0.0.5', 'fd00::5'],
      skipped: ['"pod-a" is not an IP address', '"[fd00::5]" is not an IP address (write IPv6 without brackets)', '"10.0.0.256" is not an IP address'],
    });
    expect(parseInstanceIps('10.0.0.5/24')).toEqual({ addresses: [], skipped: ['"10.0.0.5/24" is not an IP address'] });
  });

  it('says what was skipped and what stood in, in one line', () => {
    expect(describeSkippedInstanceIps('INSTANCE_IPS', ['"a" is not an IP address', '"b" is not an IP address'], 'the pod\'s addresses are 10.0.0.5'))
      .toBe('INSTANCE_IPS: skipped "a" is not an IP address; "b" is not an IP address; the pod\'s addresses are 10.0.0.5');
  });

  it('property: every address survives a list around it, in order; every other entry is skipped, none lost', () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4().map((a) => `::ffff:${a}`));
    // Words with no comma that are no address (hostnames, CIDRs, bracketed IPv6).
    const junk = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.ipV4().map((a) => `${a}/32`), fc.ipV6().map((a) => `[${a}]`));
    const entry = fc.oneof(address.map((a) => ({ a, ok: true })), junk.map((a) => ({ a, ok: false })));
    const pad = fc.constantFrom('', ' ', '  ');
    fc.assert(fc.property(fc.array(fc.tuple(entry, pad, pad), { maxLength: 8 }), (items) => {
      const text = items.map(([e, l, r]) => `${l}${e.a}${r}`).join(',');
      const got = parseInstanceIps(text);
      expect(got.addresses).toEqual(items.filter(([e]) => e.ok).map(([e]) => e.a));
      expect(got.skipped).toHaveLength(items.filter(([e]) => !e.ok).length);
      for (const a of got.addresses) expect(isInstanceIp(a)).toBe(true);
      // Read twice, the kept list is the same list.
      expect(parseInstanceIps(got.addresses.join(',')).addresses).toEqual(got.addresses);
    }));
  });

  it('property: never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      const got = parseInstanceIps(text);
      expect(got.addresses.length + got.skipped.length).toBeLessThanOrEqual(text.split(',').length);
    }));
  });
});
