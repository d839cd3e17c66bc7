// SPIFFE IDs: Istio's form parsed strictly, with the offset of the fault; format∘parse round trips
// for every valid identity; malformed IDs of every kind are refused, never accepted by accident.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../../host/identity/identity-error.js';
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, parseSpiffeId, spiffeId } from '../../host/identity/spiffe-id.js';

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const subdomain = fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.'));
const trustDomain = fc.stringMatching(/^[a-z0-9._-]{1,40}$/);
const validId = fc.record({ trustDomain, namespace: label, serviceAccount: subdomain });

function refusal(text: string): IdentityError {
  try {
    parseSpiffeId(text);
  } catch (err) {
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as IdentityError).code).toBe('spiffe_id_invalid');
    return err as IdentityError;
  }
  throw new Error(`accepted ${text}`);
}

describe('SPIFFE IDs', () => {
  it('parses Istio\'s form; the default trust domain is cluster.local', () => {
    expect(parseSpiffeId('spiffe://cluster.local/ns/shop/sa/cart')).toEqual({ trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' });
    expect(spiffeId('shop', 'cart').trustDomain).toBe(DEFAULT_TRUST_DOMAIN);
    expect(formatSpiffeId(spiffeId('istio-system', 'istiod.sa', 'example.org'))).toBe('spiffe://example.org/ns/istio-system/sa/istiod.sa');
  });

  it('format then parse is the identity, for any valid ID', () => {
    fc.assert(fc.property(validId, (id) => {
      expect(parseSpiffeId(formatSpiffeId(id))).toEqual(id);
      expect(formatSpiffeId(parseSpiffeId(formatSpiffeId(id)))).toBe(formatSpiffeId(id));
    }));
  });

  it('says what is wrong and where', () => {
    expect(refusal('http://cluster.local/ns/a/sa/b').message).toMatch(/does not start with "spiffe:\/\/" \(at offset 0/);
    expect(refusal('SPIFFE://cluster.local/ns/a/sa/b').message).toMatch(/at offset 0/);
    expect(refusal('spiffe://Cluster.local/ns/a/sa/b').message).toMatch(/trust domain "Cluster.local" holds "C".*at offset 9/);
    expect(refusal('spiffe://cluster.local:8080/ns/a/sa/b').message).toMatch(/holds ":"/);
    expect(refusal('spiffe://user@td/ns/a/sa/b').message).toMatch(/holds "@"/);
    expect(refusal('spiffe:///ns/a/sa/b').message).toMatch(/trust domain is empty/);
    expect(refusal('spiffe://cluster.local').message).toMatch(/no path/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/b?x=1').message).toMatch(/"\?" is not allowed \(no query.*at offset 32/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/b#f').message).toMatch(/"#"/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/b%20').message).toMatch(/"%"/);
    expect(refusal('spiffe://cluster.local/namespace/a/sa/b').message).toMatch(/not \/ns\/<namespace>\/sa\/<service-account> \(at offset 23/);
    expect(refusal('spiffe://cluster.local/ns/a/serviceaccount/b').message).toMatch(/at offset 28/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/b/extra').message).toMatch(/at offset 33/);
    expect(refusal('spiffe://cluster.local/ns/a').message).toMatch(/not \/ns\//);
    expect(refusal('spiffe://cluster.local/ns//sa/b').message).toMatch(/namespace is empty \(at offset 26/);
    expect(refusal('spiffe://cluster.local/ns/Shop/sa/b').message).toMatch(/namespace "Shop" is not a Kubernetes name/);
    expect(refusal('spiffe://cluster.local/ns/-a/sa/b').message).toMatch(/namespace "-a"/);
    expect(refusal(`spiffe://cluster.local/ns/${'a'.repeat(64)}/sa/b`).message).toMatch(/longer than 63/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/').message).toMatch(/service account is empty \(at offset 31/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/b_c').message).toMatch(/service account "b_c"/);
    expect(refusal('spiffe://cluster.local/ns/a/sa/..').message).toMatch(/service account ".."/);
    expect(refusal(`spiffe://${'a'.repeat(256)}/ns/a/sa/b`).message).toMatch(/longer than 255/);
    expect(refusal(`spiffe://td/ns/a/sa/${'b'.repeat(2100)}`).message).toMatch(/longer than 2048/);
  });

  it('refuses any ID whose parts break the rules (a bad character anywhere)', () => {
    const bad = fc.constantFrom('A', ' ', '/', ':', '@', '?', '#', '%', '\u00e9', '\u0000', '_');
    fc.assert(fc.property(validId, bad, fc.constantFrom<'namespace' | 'serviceAccount' | 'trustDomain'>('namespace', 'serviceAccount', 'trustDomain'), fc.nat(), (id, c, part, at) => {
      // "_" is fine in a trust domain (SPIFFE allows it), not in a Kubernetes name.
      fc.pre(!(part === 'trustDomain' && c === '_'));
      const value = id[part];
      const broken = { ...id, [part]: value.slice(0, at % (value.length + 1)) + c + value.slice(at % (value.length + 1)) };
      expect(() => parseSpiffeId(formatSpiffeId(broken))).toThrow(IdentityError);
    }));
  });

  it('spiffeId() checks its parts like the parser', () => {
    expect(() => spiffeId('Shop', 'cart')).toThrow(/namespace "Shop"/);
    expect(() => spiffeId('shop', '')).toThrow(/service account is empty/);
    expect(() => spiffeId('shop', 'cart', 'Bad.TD')).toThrow(/trust domain "Bad.TD"/);
  });
});
