// host:port parsing shared by every listener flag: the accepted forms round-trip, each refusal
// says why (without the flag, which the caller adds), and no text makes it throw anything but a
// HostPortError.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { formatHostPort, formatSocketAddress, HostPortError, parseHostPort, parsePort, unmappedAddress } from '../../host/common/host-port.js';

const port = fc.integer({ min: 0, max: 65535 });
const hostName = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-'), minLength: 1, maxLength: 30 });
const v6 = fc.ipV6();

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and :port (loopback)', () => {
    expect(parseHostPort('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseHostPort('[::1]:15000')).toEqual({ host: '::1', port: 15000 });
    expect(parseHostPort(':0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('says why a text is refused, leaving the subject to the caller', () => {
    expect(() => parseHostPort('8080')).toThrow(new HostPortError('"8080" is not host:port (for example 127.0.0.1:8080)'));
    expect(() => parseHostPort('[::1]80')).toThrow(new HostPortError('"[::1]80" is not host:port'));
    expect(() => parseHostPort('::1:80')).toThrow(new HostPortError('"::1:80": write IPv6 addresses as [addr]:port'));
    expect(() => parseHostPort('h:http')).toThrow(new HostPortError('port "http" is not a number'));
    expect(() => parseHostPort('h:65536')).toThrow(new HostPortError('port 65536 is out of range (0-65535)'));
  });

  it('round-trips any name or IPv4 host and port', () => {
    fc.assert(fc.property(fc.oneof(hostName, fc.ipV4()), port, (host, p) => {
      expect(parseHostPort(`${host}:${p}`)).toEqual({ host, port: p });
    }));
  });

  it('round-trips any bracketed IPv6 host and port', () => {
    fc.assert(fc.property(v6, port, (host, p) => {
      expect(parseHostPort(`[${host}]:${p}`)).toEqual({ host, port: p });
    }));
  });

  it('answers any text with an address in range or a HostPortError', () => {
    // Mostly the characters addresses are made of, so that near-misses (`1:99999`, `[::1]:`) come up.
    const text = fc.oneof(fc.string({ maxLength: 24 }), fc.string({ unit: fc.constantFrom(...'0123456789:[]a.'), maxLength: 12 }));
    fc.assert(fc.property(text, (text) => {
      let got;
      try {
        got = parseHostPort(text);
      } catch (err) {
        expect(err).toBeInstanceOf(HostPortError);
        return;
      }
      expect(got.host).not.toBe('');
      expect(Number.isInteger(got.port) && got.port >= 0 && got.port <= 65535).toBe(true);
    }));
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6 only', () => {
    expect(formatHostPort('::1', 80)).toBe('[::1]:80');
    expect(formatHostPort('fe80::1%eth0', 80)).toBe('[fe80::1%eth0]:80');
    expect(formatHostPort('10.0.0.1', 0)).toBe('10.0.0.1:0');
    expect(formatHostPort('[fd00::1]', 80)).toBe('[fd00::1]:80');
    expect(formatHostPort('web.example.internal', 8080)).toBe('web.example.internal:8080');
    expect(formatHostPort('::ffff:127.0.0.1', 15001)).toBe('[::ffff:127.0.0.1]:15001');
  });

  it('prints a socket\'s IPv4-mapped address as its IPv4 address (formatSocketAddress, as Envoy)', () => {
    expect(formatSocketAddress('::ffff:127.0.0.1', 15001)).toBe('127.0.0.1:15001');
    expect(formatSocketAddress('::FFFF:10.1.2.3', 1)).toBe('10.1.2.3:1');
    expect(formatSocketAddress('::1', 1)).toBe('[::1]:1');
    // Not a mapped IPv4 address: stays IPv6.
    expect(formatSocketAddress('::ffff:a0a:1', 1)).toBe('[::ffff:a0a:1]:1');
    expect(formatSocketAddress('::ffff:1.2.3', 1)).toBe('[::ffff:1.2.3]:1');
  });

  it('round-trips through parseHostPort for names, IPv4 and IPv6', () => {
    fc.assert(fc.property(fc.oneof(hostName, fc.ipV4(), v6), port, (host, p) => {
      const text = formatHostPort(host, p);
      expect(parseHostPort(text)).toEqual({ host, port: p });
      expect(formatHostPort(parseHostPort(text).host, p)).toBe(text);
    }));
  });

  it('formatSocketAddress round-trips to the unmapped address', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), v6, fc.ipV4().map((a) => `::ffff:${a}`)), port, (host, p) => {
      expect(parseHostPort(formatSocketAddress(host, p))).toEqual({ host: unmappedAddress(host), port: p });
    }));
  });

  it('unmaps exactly the ::ffff:a.b.c.d form', () => {
    fc.assert(fc.property(fc.ipV4(), (v4) => {
      expect(unmappedAddress(`::ffff:${v4}`)).toBe(v4);
      expect(unmappedAddress(v4)).toBe(v4);
    }));
    fc.assert(fc.property(v6, (a) => {
      const got = unmappedAddress(a);
      if (got !== a) expect(a.toLowerCase()).toBe(`::ffff:${got}`);
    }));
  });
});

describe('parsePort', () => {
  it('takes 0..65535 written in decimal digits only', () => {
    fc.assert(fc.property(port, (p) => {
      expect(parsePort(String(p))).toBe(p);
    }));
    for (const bad of ['', '-1', '+80', '8o', ' 80', '0x50', '123456']) expect(() => parsePort(bad), bad).toThrow(HostPortError);
    expect(() => parsePort('99999')).toThrow(/out of range/);
  });
});
