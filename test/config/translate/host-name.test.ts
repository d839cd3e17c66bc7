import { describe, expect, test } from 'vitest';
import { expandHost, intersectHosts, meshDomains } from '../../../host/config/translate/host-name.js';

const known = new Set(['default', 'prod']);

describe('expandHost', () => {
  test.each([
    ['web', 'default', 'web.default.svc.cluster.local'],
    ['web', 'prod', 'web.prod.svc.cluster.local'],
    ['Web', 'default', 'web.default.svc.cluster.local'],
    ['web.default', 'prod', 'web.default.svc.cluster.local'],
    ['web.prod.svc', 'default', 'web.prod.svc.cluster.local'],
    ['web.default.svc.cluster.local', 'prod', 'web.default.svc.cluster.local'],
    ['httpbin.org', 'default', 'httpbin.org'], // "org" is not a namespace of the config
    ['time.jsontest.com', 'default', 'time.jsontest.com'],
    ['*', 'default', '*'],
    ['*.example.com', 'default', '*.example.com'],
    ['10.0.0.1', 'default', '10.0.0.1'],
  ])('%s in %s → %s', (host, ns, fqdn) => {
    expect(expandHost(host, ns, known)).toBe(fqdn);
  });
});

describe('meshDomains', () => {
  test('same namespace: every short form, with and without the port', () => {
    expect(meshDomains('web.default.svc.cluster.local', 'default', [5005])).toEqual([
      'web',
      'web:5005',
      'web.default',
      'web.default:5005',
      'web.default.svc',
      'web.default.svc:5005',
      'web.default.svc.cluster.local',
      'web.default.svc.cluster.local:5005',
    ]);
  });
  test('other namespace: no bare name (it would mean a service of the proxy namespace)', () => {
    expect(meshDomains('web.prod.svc.cluster.local', 'default', [])).toEqual(['web.prod', 'web.prod.svc', 'web.prod.svc.cluster.local']);
  });
  test('a non-Kubernetes host is its own only name', () => {
    expect(meshDomains('time.jsontest.com', 'default', [80])).toEqual(['time.jsontest.com', 'time.jsontest.com:80']);
  });
});

describe('intersectHosts', () => {
  test.each([
    ['*', 'a.example.com', 'a.example.com'],
    ['*.example.com', '*', '*.example.com'],
    ['*.example.com', 'a.example.com', 'a.example.com'],
    ['*.example.com', '*.b.example.com', '*.b.example.com'],
    ['a.example.com', 'b.example.com', null],
    ['*.example.com', 'example.org', null],
  ])('%s ∩ %s = %s', (a, b, r) => {
    expect(intersectHosts(a, b)).toBe(r);
    expect(intersectHosts(b, a)).toBe(r);
  });
});
