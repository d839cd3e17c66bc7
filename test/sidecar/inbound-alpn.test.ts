// Which path mesh TLS to an app port takes by its offered ALPN (host/sidecar/inbound-alpn.ts).
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { isMeshTcpAlpn } from '../../host/sidecar/inbound-alpn.js';

const HTTP = ['http/1.0', 'http/1.1', 'h2', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

describe('isMeshTcpAlpn', () => {
  test('what Istio\'s clients offer: TCP `istio-peer-exchange, istio` → TCP; HTTP/1.1 and HTTP/2 lists → HTTP', () => {
    expect(isMeshTcpAlpn(['istio-peer-exchange', 'istio'])).toBe(true);
    expect(isMeshTcpAlpn(['istio'])).toBe(true);
    expect(isMeshTcpAlpn(['istio-http/1.1', 'istio', 'http/1.1'])).toBe(false);
    expect(isMeshTcpAlpn(['istio-h2', 'istio', 'h2'])).toBe(false);
  });

  test('no ALPN, or only names it does not know, is TCP (Istio\'s TCP chain takes what its HTTP chains leave)', () => {
    expect(isMeshTcpAlpn([])).toBe(true);
    expect(isMeshTcpAlpn(['foo', 'spdy/3'])).toBe(true);
  });

  test('property: any list with an HTTP name is HTTP; a list without one is TCP', () => {
    const other = fc.string({ maxLength: 12 }).filter((s) => !HTTP.includes(s) && s !== 'istio' && s !== 'istio-peer-exchange');
    fc.assert(fc.property(fc.array(fc.oneof(other, fc.constantFrom('istio', 'istio-peer-exchange')), { maxLength: 6 }), fc.constantFrom(...HTTP), fc.nat(6), (list, http, at) => {
      const withHttp = [...list.slice(0, at), http, ...list.slice(at)];
      return !isMeshTcpAlpn(withHttp) && isMeshTcpAlpn(list);
    }));
  });
});
