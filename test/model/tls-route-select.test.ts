// selectTlsRoute (host/model/tls-route.ts) against a reference built the way Envoy's filter chain
// manager looks a connection up: the chains Istio writes (one per `tls:` match, server_names =
// sniHosts, prefix_ranges = destinationSubnets) put in maps keyed by destination prefix and then
// by server name (the first chain written for a key kept), and a lookup that takes the longest
// prefix holding the address, then the exact name, then `.suffix` keys from the longest down,
// then the chain without server names, never going back up a level. fast-check draws the rules
// and connections from small alphabets so that collisions (equal names, nested wildcards,
// nested subnets) are common.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { selectTlsRoute } from '../../host/model/tls-route.js';
import type { TcpRoute } from '../../host/model/tcp-route.js';

const SUBNETS: Record<string, (a: string) => boolean> = {
  '10.0.0.0/8': (a) => a.startsWith('10.'),
  '10.1.0.0/16': (a) => a.startsWith('10.1.'),
  '10.1.2.3': (a) => a === '10.1.2.3',
};
const inSubnet = (a: string, c: string): boolean => SUBNETS[c]!(a);
const prefixOf: Record<string, number> = { '10.0.0.0/8': 8, '10.1.0.0/16': 16, '10.1.2.3': 32 };

/** Envoy's lookup over the chains, as a reference (port left out: Istio's listener is per port). */
function envoyReference(routes: readonly TcpRoute[], port: number, sni: string | null, address: string | null): number {
  // prefix ('' = no prefix_ranges) -> server name ('' = none, '.suffix' = wildcard) -> first route index
  const byPrefix = new Map<string, Map<string, number>>();
  routes.forEach((r, i) => {
    for (const m of r.matches) {
      if (m.port !== null && m.port !== port) continue;
      for (const prefix of m.destinationSubnets.length === 0 ? [''] : m.destinationSubnets) {
        const names = byPrefix.get(prefix) ?? new Map<string, number>();
        byPrefix.set(prefix, names);
        for (const h of m.sniHosts) {
          const key = h === '*' ? '' : h.startsWith('*.') ? h.slice(1) : h;
          if (!names.has(key)) names.set(key, i);
        }
      }
    }
  });
  let best: string | null = null;
  for (const prefix of byPrefix.keys()) {
    const len = prefix === '' ? 0 : prefixOf[prefix]!;
    if (prefix !== '' && (address === null || !inSubnet(address, prefix))) continue;
    if (best === null || len > (best === '' ? 0 : prefixOf[best]!)) best = prefix;
  }
  if (best === null) return -1;
  const names = byPrefix.get(best)!;
  if (sni !== null) {
    const name = sni.toLowerCase();
    if (names.has(name)) return names.get(name)!;
    for (let pos = name.indexOf('.', 1); pos !== -1 && pos < name.length - 1; pos = name.indexOf('.', pos + 1)) {
      const w = names.get(name.slice(pos));
      if (w !== undefined) return w;
    }
  }
  return names.get('') ?? -1;
}

const pattern = fc.constantFrom('*', '*.com', '*.example.com', '*.b.example.com', 'example.com', 'a.example.com', 'a.b.example.com', 'b.example.com', 'x.org');
const match = fc.record({
  port: fc.constantFrom(null, 443, 8443),
  destinationSubnets: fc.subarray(Object.keys(SUBNETS), { maxLength: 2 }),
  sniHosts: fc.array(pattern, { minLength: 1, maxLength: 3 }),
});
const route = fc.array(match, { minLength: 1, maxLength: 2 }).map((matches, ) => ({ name: 'r', hosts: [], matches, destinations: [] }) as TcpRoute);
const sni = fc.constantFrom(null, 'example.com', 'a.example.com', 'A.Example.COM', 'a.b.example.com', 'c.b.example.com', 'b.example.com', 'z.com', 'x.org', 'y.x.org');
const address = fc.constantFrom(null, '10.1.2.3', '10.1.9.9', '10.9.9.9', '127.0.0.1');

describe('selectTlsRoute: the most specific filter chain, as Envoy picks it', () => {
  test('agrees with a reference built like Envoy\'s filter chain maps (fast-check)', () => {
    fc.assert(fc.property(fc.array(route, { maxLength: 6 }), fc.constantFrom(443, 8443), sni, address, (routes, port, s, a) => {
      expect(selectTlsRoute(routes, port, s, a, inSubnet)).toBe(envoyReference(routes, port, s, a));
    }), { numRuns: 3000 });
  });

  const r = (sniHosts: string[], destinationSubnets: string[] = []): TcpRoute => ({ name: sniHosts.join(), hosts: [], matches: [{ port: null, destinationSubnets, sniHosts }], destinations: [] });

  test('exact beats an earlier wildcard; a longer wildcard suffix beats a shorter; * last; ties: the first written', () => {
    const routes = [r(['*']), r(['*.com']), r(['*.example.com']), r(['a.example.com']), r(['a.example.com'])];
    expect(selectTlsRoute(routes, 443, 'a.example.com', null, inSubnet)).toBe(3);
    expect(selectTlsRoute(routes, 443, 'b.example.com', null, inSubnet)).toBe(2);
    expect(selectTlsRoute(routes, 443, 'b.a.example.com', null, inSubnet)).toBe(2);
    expect(selectTlsRoute(routes, 443, 'z.com', null, inSubnet)).toBe(1);
    expect(selectTlsRoute(routes, 443, 'x.org', null, inSubnet)).toBe(0);
    expect(selectTlsRoute(routes, 443, null, null, inSubnet)).toBe(0);
  });

  test('the destination prefix narrows first, and a miss there is not retried at a wider one (Envoy: NR)', () => {
    const routes = [r(['a.example.com']), r(['b.example.com'], ['10.0.0.0/8'])];
    expect(selectTlsRoute(routes, 443, 'b.example.com', '10.1.1.1', inSubnet)).toBe(1);
    expect(selectTlsRoute(routes, 443, 'a.example.com', '10.1.1.1', inSubnet)).toBe(-1);
    expect(selectTlsRoute(routes, 443, 'a.example.com', '127.0.0.1', inSubnet)).toBe(0);
  });

  test('eligible narrows the routes considered (a sidecar: the service\'s rules)', () => {
    const routes = [r(['a.example.com']), r(['*.example.com'])];
    expect(selectTlsRoute(routes, 443, 'a.example.com', null, inSubnet, (i) => i !== 0)).toBe(1);
  });
});
