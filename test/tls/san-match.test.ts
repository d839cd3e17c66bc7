import { describe, it, expect } from 'vitest';
import { sanMatches, sanMismatch } from '../../host/tls/san-match.js';

describe('sanMatches', () => {
  const sans = { uris: ['spiffe://cluster.local/ns/shop/sa/cart'], dns: ['cart.shop.svc', '*.example.com'] };
  it('matches a URI or DNS SAN exactly; an empty list accepts any', () => {
    expect(sanMatches(['spiffe://cluster.local/ns/shop/sa/cart'], sans)).toBe(true);
    expect(sanMatches(['spiffe://other', 'cart.shop.svc'], sans)).toBe(true);
    expect(sanMatches([], sans)).toBe(true);
    expect(sanMatches(['spiffe://cluster.local/ns/shop/sa/car'], sans)).toBe(false);
    expect(sanMatches(['spiffe://cluster.local/ns/shop/sa/cart/x'], sans)).toBe(false);
  });
  it('a *. DNS SAN matches exactly one label', () => {
    expect(sanMatches(['a.example.com'], sans)).toBe(true);
    expect(sanMatches(['a.b.example.com'], sans)).toBe(false);
    expect(sanMatches(['example.com'], sans)).toBe(false);
    expect(sanMatches(['.example.com'], sans)).toBe(false);
  });
  it('names both lists in the mismatch reason', () => {
    expect(sanMismatch(['spiffe://x'], sans)).toBe('peer certificate SANs [URI:spiffe://cluster.local/ns/shop/sa/cart, DNS:cart.shop.svc, DNS:*.example.com] match none of the expected [spiffe://x]');
  });
});
