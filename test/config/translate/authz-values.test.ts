// One AuthorizationPolicy value at a time, as Istio reads it: string forms, path templates
// (Istio's CheckValidPathTemplate cases), addresses and CIDRs (Go netip's forms), ports and the
// bracketed `when` keys; property tests that valid input always parses to what was written and
// that no input throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrValue, claimKey, containsPathTemplate, hasInnerWildcard, headerKey, pathValue, portValue, stringValue } from '../../../host/config/translate/authz-values.js';

describe('stringValue', () => {
  it('exact, prefix*, *suffix, * (any non-empty); a * inside is literal', () => {
    expect(stringValue('a')).toEqual({ kind: 'exact', value: 'a' });
    expect(stringValue('a*')).toEqual({ kind: 'prefix', value: 'a' });
    expect(stringValue('*a')).toEqual({ kind: 'suffix', value: 'a' });
    expect(stringValue('*')).toEqual({ kind: 'presence' });
    // Istio checks the leading * first: `*a*` is a suffix `a*`.
    expect(stringValue('*a*')).toEqual({ kind: 'suffix', value: 'a*' });
    expect(stringValue('a*b')).toEqual({ kind: 'exact', value: 'a*b' });
    expect([hasInnerWildcard('a*b'), hasInnerWildcard('*a'), hasInnerWildcard('a*'), hasInnerWildcard('*'), hasInnerWildcard('**')]).toEqual([true, false, false, false, true]);
  });
});

describe('pathValue (Istio\'s path template rules)', () => {
  it('templates: {*} one segment, {**} the rest, as whole segments; {**} only as the last operator', () => {
    for (const ok of ['/a/{*}', '/{*}/b/{**}', '/{**}', '/a/{**}/b', '/{*}/{*}', '/a.b/{*}/c~d']) expect(pathValue(ok), ok).toEqual({ ok: true, value: { kind: 'template', value: ok } });
    for (const bad of ['/a/{**}/{*}', '/{**}/{**}', '/a/{*}b', '/a{*}', '/x/{*}/y z', '/a/{*}/b#c']) expect(pathValue(bad).ok, bad).toBe(false);
  });

  it('without a template, braces anywhere are refused; everything else is a string form', () => {
    expect(pathValue('/a{b}').ok).toBe(false);
    expect(pathValue('/a}').ok).toBe(false);
    expect(pathValue('/admin*')).toEqual({ ok: true, value: { kind: 'prefix', value: '/admin' } });
    expect(pathValue('*.png')).toEqual({ ok: true, value: { kind: 'suffix', value: '.png' } });
    expect(pathValue('/a b')).toEqual({ ok: true, value: { kind: 'exact', value: '/a b' } });
    expect(containsPathTemplate('/a/{**}')).toBe(true);
    expect(containsPathTemplate('/a/{x}')).toBe(false);
  });
});

describe('cidrValue', () => {
  it('addresses are /32 and /128; CIDRs keep the address as written', () => {
    expect(cidrValue('10.1.2.3')).toEqual({ ok: true, value: { kind: 'cidr', address: '10.1.2.3', prefixLength: 32 } });
    expect(cidrValue('10.1.2.3/8')).toEqual({ ok: true, value: { kind: 'cidr', address: '10.1.2.3', prefixLength: 8 } });
    expect(cidrValue('::/0')).toEqual({ ok: true, value: { kind: 'cidr', address: '::', prefixLength: 0 } });
    expect(cidrValue('2001:db8::1')).toEqual({ ok: true, value: { kind: 'cidr', address: '2001:db8::1', prefixLength: 128 } });
  });

  it('refuses what netip refuses: lengths out of range or with leading zeros, zones, host names, leading-zero octets, empty parts', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/08', '10.0.0.0/', '/8', 'fe80::1%eth0', 'example.com', '010.0.0.1', '10.0.0', '10.0.0.0/-1', '10.0.0.0/8/8', ' 10.0.0.1', '']) {
      expect(cidrValue(bad).ok, bad).toBe(false);
    }
  });

  it('property: every IPv4/IPv6 address with every prefix length parses to itself; no string throws', () => {
    fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (a, n) => {
      expect(cidrValue(`${a}/${n}`)).toEqual({ ok: true, value: { kind: 'cidr', address: a, prefixLength: n } });
      expect(cidrValue(`${a}/${n + 33}`).ok).toBe(false);
    }));
    fc.assert(fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (a, n) => {
      expect(cidrValue(`${a}/${n}`)).toEqual({ ok: true, value: { kind: 'cidr', address: a, prefixLength: n } });
    }));
    fc.assert(fc.property(fc.string(), (s) => {
      expect(() => cidrValue(s)).not.toThrow();
    }));
  });
});

describe('portValue', () => {
  it('0-65535 in decimal (Istio\'s ParseUint); anything else refused', () => {
    expect(portValue('0')).toEqual({ ok: true, value: { kind: 'port', port: 0 } });
    expect(portValue('65535')).toEqual({ ok: true, value: { kind: 'port', port: 65535 } });
    expect(portValue('080')).toEqual({ ok: true, value: { kind: 'port', port: 80 } });
    for (const bad of ['65536', '-1', '+1', '1.0', 'http', '', ' 80', '0x50']) expect(portValue(bad).ok, bad).toBe(false);
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), (p) => {
      expect(portValue(String(p))).toEqual({ ok: true, value: { kind: 'port', port: p } });
    }));
  });
});

describe('when keys', () => {
  it('request.headers[Name]: one bracketed name, lower-cased', () => {
    expect(headerKey('[X-User]')).toEqual({ ok: true, value: ['x-user'] });
    for (const bad of ['[]', 'X-User', '[x', 'x]', '']) expect(headerKey(bad).ok, bad).toBe(false);
  });

  it('request.auth.claims: nested brackets, or one bracketed name as Istio\'s parser falls back', () => {
    expect(claimKey('[groups]')).toEqual({ ok: true, value: ['groups'] });
    expect(claimKey('[a][b][c]')).toEqual({ ok: true, value: ['a', 'b', 'c'] });
    expect(claimKey('[a.b]')).toEqual({ ok: true, value: ['a.b'] });
    expect(claimKey('[a[b]]')).toEqual({ ok: true, value: ['a[b]'] });
    for (const bad of ['', '[]', 'a', '[a]b', '[a][]']) expect(claimKey(bad).ok, bad).toBe(false);
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z_.-]{1,6}$/), { minLength: 1, maxLength: 4 }), (names) => {
      expect(claimKey(names.map((n) => `[${n}]`).join(''))).toEqual({ ok: true, value: names });
    }));
  });
});
