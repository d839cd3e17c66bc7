// What applies to a workload (Istio's scoping: route and DestinationRule hosts with short names
// in the resource's namespace, selector policies in the workload's namespace or mesh-wide from
// the root namespace) and the per-proxy sync summary.
import { describe, expect, it } from 'vitest';
import { fqdn, resourcesApplyingTo, summarizeSync } from '../../host/dashboard/control-plane-views.js';

const r = (kind: string, namespace: string, name: string, spec: Record<string, unknown>) => ({ kind, namespace, name, spec });

describe('resourcesApplyingTo', () => {
  const scope = { namespace: 'shop', workload: 'reviews-v2', app: 'reviews', services: ['reviews.shop.svc.cluster.local'] };

  it('short hosts resolve in the resource\'s namespace', () => {
    expect(fqdn('reviews', 'shop')).toBe('reviews.shop.svc.cluster.local');
    expect(fqdn('reviews.shop.svc.cluster.local.', 'x')).toBe('reviews.shop.svc.cluster.local');
    const got = resourcesApplyingTo([
      r('VirtualService', 'shop', 'by-host', { hosts: ['reviews'] }),
      r('VirtualService', 'other', 'same-short-name-elsewhere', { hosts: ['reviews'] }),
      r('VirtualService', 'gw', 'routes-to-it', { hosts: ['shop.example.com'], http: [{ route: [{ destination: { host: 'reviews.shop.svc.cluster.local' } }] }] }),
      r('VirtualService', 'shop', 'wildcard', { hosts: ['*.shop.svc.cluster.local'] }),
      r('DestinationRule', 'shop', 'dr', { host: 'reviews' }),
      r('DestinationRule', 'other', 'dr-elsewhere', { host: 'reviews' }),
    ], scope);
    expect(got.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual([
      'DestinationRule shop/dr', 'VirtualService gw/routes-to-it', 'VirtualService shop/by-host', 'VirtualService shop/wildcard',
    ]);
  });

  it('selector policies: own namespace or root namespace, matching selector; other labels shown as possible', () => {
    const got = resourcesApplyingTo([
      r('AuthorizationPolicy', 'shop', 'ns-wide', {}),
      r('AuthorizationPolicy', 'shop', 'for-reviews', { selector: { matchLabels: { app: 'reviews' } } }),
      r('AuthorizationPolicy', 'shop', 'for-ratings', { selector: { matchLabels: { app: 'ratings' } } }),
      r('AuthorizationPolicy', 'shop', 'for-v2', { selector: { matchLabels: { app: 'reviews', version: 'v2' } } }),
      r('AuthorizationPolicy', 'other', 'other-ns', {}),
      r('PeerAuthentication', 'istio-system', 'mesh', {}),
      r('Sidecar', 'shop', 'sc', { workloadSelector: { labels: { app: 'reviews' } } }),
      r('ServiceEntry', 'shop', 'se', { hosts: ['reviews'] }),
    ], scope);
    expect(got.map((x) => [`${x.kind} ${x.namespace}/${x.name}`, x.why])).toEqual([
      ['AuthorizationPolicy shop/for-reviews', 'selector app=reviews'],
      ['AuthorizationPolicy shop/for-v2', 'selector app=reviews,version=v2 (labels other than app not known from metrics)'],
      ['AuthorizationPolicy shop/ns-wide', 'namespace-wide (shop)'],
      ['PeerAuthentication istio-system/mesh', 'mesh-wide (root namespace, no selector)'],
      ['Sidecar shop/sc', 'selector app=reviews'],
    ]);
  });
});

describe('summarizeSync', () => {
  it('a proxy is SYNCED when every watched type is, else its worst state', () => {
    const rows = summarizeSync([
      { proxy: 'b', kind: 'envoy', error: null, types: { CDS: { state: 'SYNCED' }, LDS: { state: 'STALE' }, RDS: { state: 'NACKED' } } },
      { proxy: 'a', kind: 'wasmesh', error: null, types: { WASMESH: { state: 'SYNCED' }, CDS: { state: 'IGNORED' } } },
      { proxy: 'c', kind: 'grpc', error: 'view failed', types: {} },
    ]);
    expect(rows.map((x) => [x.proxy, x.overall, x.error])).toEqual([['a', 'SYNCED', null], ['b', 'NACKED', null], ['c', 'NOT SENT', 'view failed']]);
    expect(rows[1]!.types).toEqual({ CDS: 'SYNCED', LDS: 'STALE', RDS: 'NACKED' });
  });
});
