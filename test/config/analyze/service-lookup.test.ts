import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { destinationHost, hostsMatch, resourceNameOfHost, toFqdn } from '../../../host/config/analyze/service-lookup.js';

const label = fc.constantFrom('a', 'b', 'web', 'example', 'com', 'svc');
const concrete = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const host = fc.oneof(concrete, concrete.map((h) => `*.${h}`), fc.constant('*'));

/** Reference: a concrete host matches a pattern `*X` when it ends with X; two patterns when one's suffix ends with the other's. */
function reference(a: string, b: string): boolean {
  const wa = a.startsWith('*');
  const wb = b.startsWith('*');
  if (!wa && !wb) return a === b;
  if (wa && !wb) return b.endsWith(a.slice(1));
  if (!wa && wb) return a.endsWith(b.slice(1));
  return a.slice(1).endsWith(b.slice(1)) || b.slice(1).endsWith(a.slice(1));
}

describe('Istio\'s analyzer host helpers', () => {
  it('hostsMatch is host.Name.Matches: symmetric, and agrees with the suffix reference', () => {
    fc.assert(fc.property(host, host, (a, b) => {
      expect(hostsMatch(a, b)).toBe(hostsMatch(b, a));
      expect(hostsMatch(a, b)).toBe(reference(a, b));
    }));
  });

  it('short names expand in the namespace; names with a dot and wildcards stay as written', () => {
    expect(toFqdn('shop', 'web')).toBe('web.shop.svc.cluster.local');
    expect(toFqdn('shop', 'web.other')).toBe('web.other');
    expect(toFqdn('shop', '*')).toBe('*');
    expect(resourceNameOfHost('shop', 'web.other.svc.cluster.local')).toBe('other/web');
    expect(resourceNameOfHost('shop', 'web.other')).toBe('shop/web.other');
  });

  it('destinationHost: exported to all, to the caller\'s namespace, or by a wildcard in scope', () => {
    const hosts = new Map([
      ['*/web.shop.svc.cluster.local', { ports: [80], workloadSelector: {} }],
      ['team/api.team.svc.cluster.local', { ports: [8080], workloadSelector: {} }],
      ['*/*.example.com', { ports: [443], workloadSelector: {} }],
    ]);
    expect(destinationHost('other', [], 'web.shop.svc.cluster.local', hosts)?.ports).toEqual([80]);
    expect(destinationHost('team', [], 'api', hosts)?.ports).toEqual([8080]);
    expect(destinationHost('other', [], 'api.team.svc.cluster.local', hosts)).toBeNull();
    expect(destinationHost('other', ['team'], 'api.team.svc.cluster.local', hosts)?.ports).toEqual([8080]);
    expect(destinationHost('x', [], 'a.b.example.com', hosts)?.ports).toEqual([443]);
    expect(destinationHost('x', [], 'example.com', hosts)).toBeNull();
  });
});
