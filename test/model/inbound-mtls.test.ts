import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inboundMtls, inboundPortMode, type MtlsMode, type PeerAuthenticationPolicy } from '../../host/model/inbound-mtls.js';

const pa = (namespace: string, name: string, mode: MtlsMode, selector: Record<string, string> | null = null, ports: Array<[number, MtlsMode]> = []): PeerAuthenticationPolicy =>
  ({ namespace, name, mode, selector, portLevel: new Map(ports) });
const shopCart = { namespace: 'shop', labels: { app: 'cart', version: 'v1' } };

describe('inboundMtls: Istio\'s composition', () => {
  it('defaults to PERMISSIVE; mesh STRICT applies everywhere', () => {
    expect(inboundMtls([], shopCart).mode).toBe('PERMISSIVE');
    expect(inboundMtls([pa('istio-system', 'default', 'STRICT')], shopCart)).toMatchObject({ mode: 'STRICT', from: { mesh: 'istio-system/default' } });
    // Another root namespace: istio-system is then just a namespace.
    expect(inboundMtls([pa('istio-system', 'default', 'STRICT')], shopCart, 'mesh-root').mode).toBe('PERMISSIVE');
  });

  it('namespace overrides mesh, workload overrides namespace; UNSET inherits', () => {
    const mesh = pa('istio-system', 'default', 'STRICT');
    expect(inboundMtls([mesh, pa('shop', 'ns', 'PERMISSIVE')], shopCart).mode).toBe('PERMISSIVE');
    expect(inboundMtls([mesh, pa('shop', 'ns', 'UNSET')], shopCart).mode).toBe('STRICT');
    expect(inboundMtls([mesh, pa('shop', 'ns', 'DISABLE'), pa('shop', 'cart', 'STRICT', { app: 'cart' })], shopCart).mode).toBe('STRICT');
    expect(inboundMtls([mesh, pa('shop', 'cart', 'UNSET', { app: 'cart' })], shopCart).mode).toBe('STRICT');
    // A selector that does not match, or a policy in another namespace, changes nothing.
    expect(inboundMtls([mesh, pa('shop', 'web', 'DISABLE', { app: 'web' }), pa('other', 'ns', 'DISABLE')], shopCart).mode).toBe('STRICT');
  });

  it('portLevelMtls of a workload policy overrides per port, UNSET inheriting; elsewhere ignored', () => {
    const m = inboundMtls([pa('istio-system', 'default', 'STRICT'), pa('shop', 'cart', 'UNSET', { app: 'cart' }, [[8080, 'DISABLE'], [9090, 'UNSET'], [7070, 'PERMISSIVE']])], shopCart);
    expect([inboundPortMode(m, 8080), inboundPortMode(m, 9090), inboundPortMode(m, 7070), inboundPortMode(m, 80)]).toEqual(['DISABLE', 'STRICT', 'PERMISSIVE', 'STRICT']);
    const nsLevel = inboundMtls([pa('shop', 'ns', 'STRICT', null, [[8080, 'DISABLE']])], shopCart);
    expect(inboundPortMode(nsLevel, 8080)).toBe('STRICT');
  });

  it('among policies of one level the first in load order wins', () => {
    expect(inboundMtls([pa('shop', 'a', 'STRICT'), pa('shop', 'b', 'DISABLE')], shopCart)).toMatchObject({ mode: 'STRICT', from: { namespace: 'shop/a' } });
    expect(inboundMtls([pa('shop', 'b', 'DISABLE', { app: 'cart' }), pa('shop', 'a', 'STRICT', { version: 'v1' })], shopCart).mode).toBe('DISABLE');
  });

  // ── Properties ──
  const mode = fc.constantFrom<MtlsMode>('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT');
  const policy = fc.record({
    namespace: fc.constantFrom('istio-system', 'shop', 'other'),
    name: fc.constantFrom('a', 'b', 'c'),
    mode,
    selector: fc.option(fc.dictionary(fc.constantFrom('app', 'version'), fc.constantFrom('cart', 'web', 'v1')), { nil: null }),
    portLevel: fc.array(fc.tuple(fc.constantFrom(80, 8080), mode), { maxLength: 2 }).map((a) => new Map(a)),
  });
  const policies = fc.array(policy, { maxLength: 6 });

  it('property: the result is never UNSET, on any port', () => {
    fc.assert(fc.property(policies, fc.constantFrom(80, 8080, 9000), (ps, port) => {
      const m = inboundMtls(ps, shopCart);
      // Checked at run time as well as by the type: a mode the type rules out must not leak through.
      const effective: readonly string[] = ['DISABLE', 'PERMISSIVE', 'STRICT'];
      return effective.includes(m.mode) && effective.includes(inboundPortMode(m, port));
    }));
  });

  it('property: policies of other namespaces (not the root) never change the result', () => {
    fc.assert(fc.property(policies, policies, (ps, noise) => {
      const others = noise.map((p) => ({ ...p, namespace: 'other' }));
      const a = inboundMtls(ps, shopCart);
      const b = inboundMtls([...others, ...ps], shopCart);
      return a.mode === b.mode && [80, 8080].every((port) => inboundPortMode(a, port) === inboundPortMode(b, port));
    }));
  });

  it('property: a matching workload policy with a set mode decides the workload mode whatever comes after it', () => {
    fc.assert(fc.property(fc.constantFrom<MtlsMode>('DISABLE', 'PERMISSIVE', 'STRICT'), policies, (m, rest) => {
      const first = pa('shop', 'w', m, { app: 'cart' });
      return inboundMtls([first, ...rest], shopCart).mode === m;
    }));
  });

  it('property: a namespace policy appended after a first one of its level changes nothing', () => {
    fc.assert(fc.property(policies, mode, mode, (ps, m1, m2) => {
      const base = [...ps.filter((p) => !(p.namespace === 'shop' && (p.selector === null || Object.keys(p.selector).length === 0))), pa('shop', 'first', m1)];
      return inboundMtls(base, shopCart).mode === inboundMtls([...base, pa('shop', 'later', m2)], shopCart).mode;
    }));
  });

  it('property: with no workload policy, STRICT at mesh level holds unless the namespace sets a mode', () => {
    fc.assert(fc.property(fc.option(mode, { nil: null }), (nsMode) => {
      const ps = [pa('istio-system', 'default', 'STRICT'), ...(nsMode === null ? [] : [pa('shop', 'ns', nsMode)])];
      const expected = nsMode === null || nsMode === 'UNSET' ? 'STRICT' : nsMode;
      return inboundMtls(ps, shopCart).mode === expected;
    }));
  });
});
