// A WorkloadEntry's (or inline endpoint's) serviceAccount is the identity a mesh mTLS peer at that
// address must prove: spiffe://<trust domain>/ns/<ns>/sa/<sa>, the trust domain the load's
// (LoadOptions.trustDomain, the CA's --trust-domain) or Istio's default cluster.local.
import { describe, expect, test } from 'vitest';
import { loadConfig, type LoadOptions } from '../../../host/config/index.js';
import { tempYaml } from '../../helpers/temp-yaml.js';

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app, namespace: shop }
spec:
  hosts: [app.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: { labels: { app: app } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: inline, namespace: shop }
spec:
  hosts: [inline.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
  - { address: 127.0.0.3, serviceAccount: inline }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: app-1, namespace: shop }
spec:
  address: 127.0.0.2
  serviceAccount: cart
  labels: { app: app, security.istio.io/tlsMode: istio }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: app-2, namespace: shop }
spec:
  address: 127.0.0.4
  labels: { app: app, security.istio.io/tlsMode: istio }
`;

function endpoints(options: LoadOptions) {
  const mesh = loadConfig([tempYaml({ 'a.yaml': MESH }).dir], { namespace: 'shop', ...options }).mesh;
  return mesh.clusters.flatMap((c) => c.endpoints.map((e) => [e.address, e.spiffeId]));
}

describe('endpoint identities from serviceAccount', () => {
  test('Istio\'s default trust domain; an endpoint without a service account has none', () => {
    expect(endpoints({}).sort()).toEqual([
      ['127.0.0.2', 'spiffe://cluster.local/ns/shop/sa/cart'],
      ['127.0.0.3', 'spiffe://cluster.local/ns/shop/sa/inline'],
      ['127.0.0.4', undefined],
    ]);
  });

  test('the load\'s trust domain when it names one', () => {
    const got = endpoints({ trustDomain: 'corp.example' });
    expect(got).toContainEqual(['127.0.0.2', 'spiffe://corp.example/ns/shop/sa/cart']);
    expect(got).toContainEqual(['127.0.0.3', 'spiffe://corp.example/ns/shop/sa/inline']);
  });
});
