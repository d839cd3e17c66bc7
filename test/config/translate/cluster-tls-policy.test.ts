import { describe, expect, it } from 'vitest';
import { clientTlsEnforced, clusterTlsOf } from '../../../host/config/translate/cluster-tls-policy.js';

const cluster = (labels: Record<string, string>) => ({ host: 'cart.shop.svc.cluster.local', port: 8080, subset: null, endpoints: [{ address: '10.0.0.1', port: 8080, labels, weight: 1 }] });
const SIDECAR = { 'security.istio.io/tlsMode': 'istio' };

describe('clusterTlsOf', () => {
  it('auto mTLS only with a workload identity, and only to endpoints with a sidecar', () => {
    expect(clusterTlsOf(undefined, cluster(SIDECAR), true)).toEqual({ mode: 'ISTIO_MUTUAL', sni: 'outbound_.8080_._.cart.shop.svc.cluster.local', subjectAltNames: [], auto: true });
    expect(clusterTlsOf(undefined, cluster(SIDECAR), false)).toBeUndefined();
    expect(clusterTlsOf(undefined, cluster({}), true)).toBeUndefined();
  });

  it('a DestinationRule tls decides; DISABLE and what is not enforced are plaintext', () => {
    expect(clusterTlsOf({ mode: 'DISABLE' }, cluster(SIDECAR), true)).toBeUndefined();
    expect(clusterTlsOf({ mode: 'SIMPLE', caCertificates: '/ca.pem' }, cluster({}), false)).toEqual({ mode: 'SIMPLE', caCertificates: '/ca.pem', auto: false });
    expect(clusterTlsOf({ mode: 'ISTIO_MUTUAL' }, cluster(SIDECAR), false)).toBeUndefined();
    expect(clusterTlsOf({ mode: 'SIMPLE', credentialName: 'x' }, cluster({}), true)).toBeUndefined();
  });

  it('clientTlsEnforced matches the checks: credentialName and caCrl never, ISTIO_MUTUAL with identity', () => {
    expect([clientTlsEnforced({}, false), clientTlsEnforced({ mode: 'MUTUAL' }, false), clientTlsEnforced({ mode: 'ISTIO_MUTUAL' }, false), clientTlsEnforced({ mode: 'ISTIO_MUTUAL' }, true), clientTlsEnforced({ mode: 'SIMPLE', caCrl: '/crl' }, true)])
      .toEqual([true, true, false, true, false]);
  });
});
