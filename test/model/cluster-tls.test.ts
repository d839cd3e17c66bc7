import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clusterTls, istioMutualSni, TLS_MODE_LABEL, type ClusterTlsInput } from '../../host/model/cluster-tls.js';

const sidecar = (sa: string) => ({ labels: { [TLS_MODE_LABEL]: 'istio', app: 'x' }, spiffeId: `spiffe://cluster.local/ns/shop/sa/${sa}` });
const bare = { labels: { app: 'x' } };
const input = (over: Partial<ClusterTlsInput>): ClusterTlsInput => ({ host: 'cart.shop.svc.cluster.local', port: 8080, subset: null, tls: null, endpoints: [], ...over });

describe('clusterTls', () => {
  it('auto mTLS: every endpoint with a sidecar and no DestinationRule tls → ISTIO_MUTUAL, Istio SNI, the service accounts as SANs', () => {
    expect(clusterTls(input({ subset: 'v1', endpoints: [sidecar('cart'), sidecar('cart-canary'), sidecar('cart')] }))).toEqual({
      mode: 'ISTIO_MUTUAL', auto: true, sni: 'outbound_.8080_.v1_.cart.shop.svc.cluster.local',
      subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://cluster.local/ns/shop/sa/cart-canary'],
    });
    expect(istioMutualSni('a.b', 80, null)).toBe('outbound_.80_._.a.b');
  });

  it('no sidecar, a mix, or no endpoints: plaintext', () => {
    expect(clusterTls(input({ endpoints: [bare] }))).toEqual({ mode: 'DISABLE', auto: false });
    expect(clusterTls(input({ endpoints: [sidecar('a'), bare] }))).toEqual({ mode: 'DISABLE', auto: false });
    expect(clusterTls(input({ endpoints: [] }))).toEqual({ mode: 'DISABLE', auto: false });
  });

  it('a DestinationRule tls decides over auto mTLS: DISABLE is plaintext to sidecars too', () => {
    expect(clusterTls(input({ tls: { mode: 'DISABLE' }, endpoints: [sidecar('cart')] }))).toEqual({ mode: 'DISABLE', auto: false });
    expect(clusterTls(input({ tls: { mode: 'SIMPLE', sni: 'cart.example', caCertificates: '/ca.pem' }, endpoints: [sidecar('cart')] })))
      .toEqual({ mode: 'SIMPLE', sni: 'cart.example', caCertificates: '/ca.pem', auto: false });
  });

  it('explicit ISTIO_MUTUAL takes Istio\'s SNI and SANs unless given', () => {
    expect(clusterTls(input({ tls: { mode: 'ISTIO_MUTUAL' }, endpoints: [bare, sidecar('cart')] }))).toEqual({
      mode: 'ISTIO_MUTUAL', auto: false, sni: 'outbound_.8080_._.cart.shop.svc.cluster.local', subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/cart'],
    });
    expect(clusterTls(input({ tls: { mode: 'ISTIO_MUTUAL', sni: 's', subjectAltNames: ['spiffe://x/ns/a/sa/b'] } }))).toMatchObject({ sni: 's', subjectAltNames: ['spiffe://x/ns/a/sa/b'] });
  });

  it('property: never TLS without a reason, never plaintext where a DestinationRule asks for TLS', () => {
    const ep = fc.record({ labels: fc.dictionary(fc.constantFrom(TLS_MODE_LABEL, 'app'), fc.constantFrom('istio', 'disabled', 'x')), spiffeId: fc.option(fc.constantFrom('spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/sa/c'), { nil: null }) });
    const tls = fc.option(fc.record({ mode: fc.constantFrom('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL' as const) }), { nil: null });
    fc.assert(fc.property(fc.array(ep, { maxLength: 4 }), tls, (endpoints, t) => {
      const r = clusterTls(input({ endpoints, tls: t }));
      if (t !== null) return r.mode === t.mode && !r.auto;
      const all = endpoints.length > 0 && endpoints.every((e) => e.labels[TLS_MODE_LABEL] === 'istio');
      return r.mode === (all ? 'ISTIO_MUTUAL' : 'DISABLE') && r.auto === all;
    }));
  });
});
