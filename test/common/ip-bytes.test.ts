// IP text → bytes without allocation (authorization's address attributes): IPv4, IPv6 with
// `::`, embedded IPv4 and zones, IPv4-mapped read as IPv4, and garbage refused; checked against
// node:net's own parser on random addresses.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { ipBytes, writeIpBytes } from '../../host/common/ip-bytes.js';

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'));

describe('ipBytes', () => {
  it('reads IPv4 and IPv6 forms', () => {
    expect(hex(ipBytes('10.1.2.3'))).toBe('0a010203');
    expect(hex(ipBytes('::'))).toBe('0'.repeat(32));
    expect(hex(ipBytes('::1'))).toBe('0'.repeat(31) + '1');
    expect(hex(ipBytes('2001:db8::5'))).toBe('20010db8' + '0'.repeat(20) + '0005');
    expect(hex(ipBytes('fe80::1%eth0'))).toBe('fe80' + '0'.repeat(27) + '1');
    expect(hex(ipBytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(ipBytes('64:ff9b::1.2.3.4'))).toBe('0064ff9b' + '0'.repeat(16) + '01020304');
    expect(hex(ipBytes('::ffff:192.168.1.1'))).toBe('c0a80101');
    expect(hex(ipBytes('::ffff:c0a8:101'))).toBe('c0a80101');
  });

  it('refuses what is not an address', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', ':1', '1:', 'g::1', 'a.b.c.d', '1.2.3.4:80'])
      expect({ s, b: ipBytes(s) }).toEqual({ s, b: null });
  });

  it('agrees with node:net on random IPv4 and IPv6 text', () => {
    const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).chain((g) =>
      fc.integer({ min: -1, max: 7 }).chain((gapAt) => fc.integer({ min: 1, max: 8 }).map((len) => {
        const parts = g.map((x) => x.toString(16));
        if (gapAt < 0) return { text: parts.join(':'), groups: g };
        const end = Math.min(8, gapAt + len);
        const zeroed = g.map((x, i) => (i >= gapAt && i < end ? 0 : x));
        return { text: `${parts.slice(0, gapAt).join(':')}::${parts.slice(end).join(':')}`, groups: zeroed };
      })));
    fc.assert(fc.property(v6, ({ text, groups }) => {
      expect(isIP(text)).toBe(6);
      const b = ipBytes(text)!;
      const mapped = groups.slice(0, 5).every((x) => x === 0) && groups[5] === 0xffff;
      const want = Buffer.alloc(16);
      groups.forEach((x, i) => want.writeUInt16BE(x, i * 2));
      expect(hex(b)).toBe(mapped ? want.subarray(12).toString('hex') : want.toString('hex'));
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (o) => {
      const u8 = new Uint8Array(20);
      expect(writeIpBytes(o.join('.'), u8, 3)).toBe(4);
      expect(Array.from(u8.subarray(3, 7))).toEqual(o);
    }));
  });
});
