// The request values consistent hashing reads, as Envoy reads them: cookies (quoted, first
// match), query parameters (first raw value, presence without '='), sorted header values,
// the Set-Cookie format of a generated cookie, and PASSTHROUGH's original destination.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { authorityDestination, cookieValue, hashValues, originalDestination, queryParameter, setCookieValue } from '../../host/upstream/hash-key.js';

describe('hash keys', () => {
  it('cookies: trimmed pairs, quotes removed, first match across Cookie headers', () => {
    // Flat name, value pairs, as Downstream.headers holds them.
    const h = ['cookie', 'a=1;  sess = "abc" ; sess=zzz', 'cookie', 'sess=later'];
    expect(cookieValue(h, 'sess')).toBe('abc');
    expect(cookieValue(h, 'a')).toBe('1');
    expect(cookieValue(h, 'missing')).toBeUndefined();
    expect(cookieValue(['x-cookie', 'sess=1'], 'sess')).toBeUndefined();
  });

  it('query parameters: first raw value, empty without "=", fragment ignored, exact names', () => {
    expect(queryParameter('/p?u=a%20b&u=c', 'u')).toBe('a%20b');
    expect(queryParameter('/p?flag&u=1', 'flag')).toBe('');
    expect(queryParameter('/p?u=1#frag', 'u')).toBe('1');
    expect(queryParameter('/p?U=1', 'u')).toBeUndefined();
    expect(queryParameter('/p', 'u')).toBeUndefined();
  });

  it('header values are sorted, so their order does not change the key', () => {
    fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (vals) => {
      const a = hashValues({ kind: 'header', name: 'x' }, { headers: vals.flatMap((v) => ['x', v]), clientIp: '', path: '/' });
      const b = hashValues({ kind: 'header', name: 'x' }, { headers: [...vals].reverse().flatMap((v) => ['x', v]), clientIp: '', path: '/' });
      expect(a).toEqual(b);
    }));
    expect(hashValues({ kind: 'header', name: 'x' }, { headers: [], clientIp: '1.2.3.4', path: '/' })).toBeNull();
    expect(hashValues({ kind: 'sourceIp' }, { headers: [], clientIp: '1.2.3.4', path: '/' })).toEqual(['1.2.3.4']);
    expect(hashValues({ kind: 'none' }, { headers: [], clientIp: '1.2.3.4', path: '/' })).toBeNull();
  });

  it('Set-Cookie in Envoy’s order; a session cookie has no Max-Age', () => {
    expect(setCookieValue('s', 'v', '/a', 90_500, [{ name: 'SameSite', value: 'Lax' }, { name: 'Secure', value: null }]))
      .toBe('s="v"; Max-Age=90; Path=/a; SameSite=Lax; Secure; HttpOnly');
    expect(setCookieValue('s', 'v', null, 0, [])).toBe('s="v"; HttpOnly');
  });

  it('original destination: ipv4:port and [ipv6]:port only', () => {
    expect(originalDestination('10.1.2.3:8080')).toEqual({ address: '10.1.2.3', port: 8080 });
    expect(originalDestination('[fd00::1]:80')).toEqual({ address: 'fd00::1', port: 80 });
    for (const bad of ['10.1.2.3', 'svc:80', '300.1.1.1:80', '10.1.2.3:0', '10.1.2.3:70000', '[fd00::1]']) expect(originalDestination(bad)).toBeNull();
  });
});

describe('authorityDestination (PassthroughCluster: the authority stands for SO_ORIGINAL_DST)', () => {
  it('addresses as originalDestination; names and bare addresses get port 80; names lower-cased', () => {
    expect(authorityDestination('10.1.2.3:8080')).toEqual({ address: '10.1.2.3', port: 8080 });
    expect(authorityDestination('10.1.2.3')).toEqual({ address: '10.1.2.3', port: 80 });
    expect(authorityDestination('[fd00::1]')).toEqual({ address: 'fd00::1', port: 80 });
    expect(authorityDestination('Api.Example.COM')).toEqual({ address: 'api.example.com', port: 80 });
    expect(authorityDestination('localhost:9000')).toEqual({ address: 'localhost', port: 9000 });
  });

  it('no destination for what is not a host[:port]', () => {
    for (const a of ['', ':80', 'a..b', 'host:0', 'host:65536', 'host:', 'bad_name', 'a b', 'host:80:81', '-x.com', 'user@host', '[fd00::1']) {
      expect(authorityDestination(a), a).toBeNull();
    }
  });

  it('property: any valid name with any valid port round-trips', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 65535 }), (labels, port) => {
        const name = labels.join('.');
        expect(authorityDestination(`${name}:${port}`)).toEqual({ address: name, port });
      }),
    );
  });
});
