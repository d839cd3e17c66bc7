// The core's connection evaluation (authz_evaluate_connection, Envoy's RBAC network filter) over
// the same table the HTTP path reads: on policies without HTTP-only fields it decides exactly as
// the request evaluation does (property, over random policies and connections), and on policies
// with them it decides as the request evaluation of the policies Istio builds for TCP (ALLOW:
// a rule with an HTTP-only field anywhere never matches; DENY, AUDIT, CUSTOM: the field is
// dropped) — a differential test against that rewrite; plus Istio's documented cases.
import { test, expect, describe } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { AuthzTable, EV_DENIED, EV_CUSTOM, EV_AUDIT, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED } from '../../../host/core/authz/authz-table.js';
import { compileAuthorization } from '../../../host/compile/authorization.js';
import type { AuthzAttribute, AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../../../host/model/authorization.js';
import { ex, pre, f, rule, policy, cidr, port } from '../../helpers/authz-builders.js';

const core = new Core();

const HTTP_ONLY = new Set<AuthzAttribute>(['request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'request.auth.claims', 'request.headers', 'request.host', 'request.method', 'request.path']);

const word = fc.stringMatching(/^[ab/.]{0,3}$/);
const stringValue: fc.Arbitrary<AuthzValue> = fc.oneof(
  word.map((value) => ({ kind: 'exact' as const, value })),
  word.map((value) => ({ kind: 'prefix' as const, value })),
  word.map((value) => ({ kind: 'suffix' as const, value })),
  fc.constant({ kind: 'presence' as const }),
);
const v4 = fc.tuple(fc.constantFrom(10, 192), fc.nat(1), fc.nat(3)).map(([a, b, c]) => `${a}.0.${b}.${c}`);
const cidrValue: fc.Arbitrary<AuthzValue> = fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([address, prefixLength]) => ({ kind: 'cidr' as const, address, prefixLength }));
const portValue: fc.Arbitrary<AuthzValue> = fc.constantFrom(80, 8080).map((p) => ({ kind: 'port' as const, port: p }));

const TCP_ATTRS: AuthzAttribute[] = ['source.principal', 'source.namespace', 'source.ip', 'remote.ip', 'destination.ip', 'destination.port', 'connection.sni'];
const ALL_ATTRS: AuthzAttribute[] = [...TCP_ATTRS, 'request.method', 'request.path', 'request.host', 'request.headers', 'request.auth.principal', 'request.auth.claims'];

function valuesOf(a: AuthzAttribute): fc.Arbitrary<AuthzValue> {
  if (a === 'source.ip' || a === 'remote.ip' || a === 'destination.ip') return cidrValue;
  if (a === 'destination.port') return portValue;
  return stringValue;
}

function fieldGen(attrs: AuthzAttribute[]): fc.Arbitrary<AuthzField> {
  return fc.constantFrom(...attrs).chain((attribute) => fc.record({
    attribute: fc.constant(attribute),
    values: fc.array(valuesOf(attribute), { maxLength: 2 }),
    notValues: fc.array(valuesOf(attribute), { maxLength: 1 }),
  }).map((x) => (attribute === 'request.headers' ? { ...x, key: ['x-a'] } : attribute === 'request.auth.claims' ? { ...x, key: ['groups'] } : x)));
}

function policiesGen(attrs: AuthzAttribute[]): fc.Arbitrary<AuthzPolicy[]> {
  const clause = fc.array(fieldGen(attrs), { minLength: 1, maxLength: 2 });
  const ruleGen: fc.Arbitrary<AuthzRule> = fc.record({ from: fc.array(clause, { maxLength: 2 }), to: fc.array(clause, { maxLength: 2 }), when: fc.array(fieldGen(attrs), { maxLength: 1 }) });
  return fc.array(fc.record({
    name: fc.constantFrom('ns/a', 'ns/b'),
    action: fc.constantFrom('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
    rules: fc.array(ruleGen, { maxLength: 3 }),
    dryRun: fc.boolean(),
    provider: fc.constant(null),
  }) as fc.Arbitrary<AuthzPolicy>, { maxLength: 4 });
}

interface Conn { principal: string | null; sourceIp: string | null; destinationIp: string | null; destinationPort: number | null; sni: string | null }
const connGen: fc.Arbitrary<Conn> = fc.record({
  principal: fc.option(fc.constantFrom('cluster.local/ns/a/sa/x', 'cluster.local/ns/b/sa/y'), { nil: null }),
  sourceIp: fc.option(v4, { nil: null }),
  destinationIp: fc.option(v4, { nil: null }),
  destinationPort: fc.option(fc.constantFrom(80, 8080), { nil: null }),
  sni: fc.option(word, { nil: null }),
});

/** Everything the core reports after an evaluation. */
function outcome(t: AuthzTable, bits: number): Record<string, number | boolean> {
  return {
    denied: (bits & EV_DENIED) !== 0,
    policy: t.policy(),
    rule: t.policy() < 0 ? -1 : t.rule(),
    custom: (bits & EV_CUSTOM) !== 0 ? t.customPolicy() : -1,
    shadow: (bits & EV_SHADOW_DENIED) !== 0 ? 2 : (bits & EV_SHADOW_ALLOWED) !== 0 ? 1 : 0,
    shadowPolicy: (bits & (EV_SHADOW_DENIED | EV_SHADOW_ALLOWED)) !== 0 ? t.shadowPolicy() : -1,
    audit: (bits & EV_AUDIT) !== 0 ? t.auditPolicy() : -1,
  };
}

/** The connection as a request: any method, path and host (no policy reads them), remote.ip = source.ip as on TCP. */
const asRequest = (c: Conn) => ({ method: 'GET', path: '/', authority: 'h', ...c, remoteIp: c.sourceIp });
const connection = (c: Conn) => ({ ...c, remoteIp: c.sourceIp });

/** A field no connection and no request satisfies (an IPv4 source both in and not in 0.0.0.0/0). */
const NEVER: AuthzField = f('source.ip', [cidr('0.0.0.0', 0)], [cidr('0.0.0.0', 0)]);

/** Istio's TCP build of `policies` (pilot/pkg/security/authz/model: Generate with forTCP), rule indexes kept. */
function istioTcp(policies: readonly AuthzPolicy[]): AuthzPolicy[] {
  const http = (x: AuthzField): boolean => HTTP_ONLY.has(x.attribute);
  return policies.map((p) => ({
    ...p,
    rules: p.rules.map((r) => {
      if (p.action === 'ALLOW') {
        const reads = r.from.some((c) => c.some(http)) || r.to.some((c) => c.some(http)) || r.when.some(http);
        return reads ? { from: [[NEVER]], to: [], when: [] } : r;
      }
      return { from: r.from.map((c) => c.filter((x) => !http(x))), to: r.to.map((c) => c.filter((x) => !http(x))), when: r.when.filter((x) => !http(x)) };
    }),
  }));
}

let version = 0;
function withTable<T>(policies: readonly AuthzPolicy[], fn: (t: AuthzTable) => T): T {
  const t = AuthzTable.load(core, compileAuthorization(policies), ++version);
  try {
    return fn(t);
  } finally {
    t.release();
  }
}

describe('connection evaluation', () => {
  test('equals the request evaluation on policies without HTTP-only fields (property)', () => {
    fc.assert(fc.property(policiesGen(TCP_ATTRS), fc.array(connGen, { minLength: 1, maxLength: 6 }), (policies, conns) => {
      withTable(policies, (t) => {
        for (const c of conns) {
          const http = outcome(t, t.evaluateRequest(asRequest(c)));
          expect(outcome(t, t.evaluateConnectionOf(connection(c))), JSON.stringify(c)).toEqual(http);
        }
      });
    }), { numRuns: 400 });
  });

  test('equals the request evaluation of Istio\'s TCP build of the policies, HTTP-only fields included (differential)', () => {
    fc.assert(fc.property(policiesGen(ALL_ATTRS), fc.array(connGen, { minLength: 1, maxLength: 6 }), (policies, conns) => {
      const tcp = istioTcp(policies);
      const expected = withTable(tcp, (t) => conns.map((c) => outcome(t, t.evaluateRequest(asRequest(c)))));
      withTable(policies, (t) => {
        conns.forEach((c, i) => expect(outcome(t, t.evaluateConnectionOf(connection(c))), JSON.stringify({ c, tcp })).toEqual(expected[i]));
      });
    }), { numRuns: 400 });
  });

  const mtls = { principal: 'cluster.local/ns/shop/sa/cart', sourceIp: '10.0.0.7', destinationIp: '10.0.0.9', destinationPort: 5009, sni: null };

  test('ALLOW by principal: the peer\'s principal allowed, another denied, a plaintext peer denied', () => {
    withTable([policy('ns/p', 'ALLOW', [rule({ from: [[f('source.principal', [ex('cluster.local/ns/shop/sa/cart')])]] })])], (t) => {
      expect(t.evaluateConnectionOf(mtls) & EV_DENIED).toBe(0);
      expect(t.policy()).toBe(0);
      expect(t.evaluateConnectionOf({ ...mtls, principal: 'cluster.local/ns/shop/sa/other' }) & EV_DENIED).toBe(EV_DENIED);
      expect(t.evaluateConnectionOf({ ...mtls, principal: null }) & EV_DENIED).toBe(EV_DENIED);
    });
  });

  test('ALLOW whose rules all hold HTTP-only fields denies every connection, even where another clause would match', () => {
    const p = policy('ns/p', 'ALLOW', [
      rule({ to: [[f('request.method', [ex('GET')])], [f('destination.port', [port(5009)])]] }),
      rule({ from: [[f('source.namespace', [ex('shop')])]], when: [f('request.headers', [pre('x')], [], ['x-a'])] }),
    ]);
    withTable([p], (t) => {
      expect(t.evaluateConnectionOf(mtls) & EV_DENIED).toBe(EV_DENIED);
      expect(t.policy()).toBe(-1);
      // The same policy over HTTP: a GET matches the first rule.
      expect(t.evaluateRequest({ method: 'GET', path: '/', authority: 'h', ...mtls }) & EV_DENIED).toBe(0);
    });
  });

  test('DENY with HTTP-only fields: the fields dropped, the rule matches more (fail closed)', () => {
    const p = policy('ns/d', 'DENY', [rule({ from: [[f('source.ip', [cidr('10.0.0.0', 24)])]], to: [[f('request.path', [ex('/admin')]), f('request.method', [ex('POST')])]] })]);
    withTable([p], (t) => {
      expect(t.evaluateConnectionOf(mtls) & EV_DENIED).toBe(EV_DENIED);
      expect([t.policy(), t.rule()]).toEqual([0, 0]);
      // Outside the ipBlock: not denied.
      expect(t.evaluateConnectionOf({ ...mtls, sourceIp: '192.0.2.1' }) & EV_DENIED).toBe(0);
      // HTTP sees the path: a GET to / is not denied.
      expect(t.evaluateRequest({ method: 'GET', path: '/', authority: 'h', ...mtls }) & EV_DENIED).toBe(0);
    });
  });

  test('CUSTOM with an HTTP-only field matches wider on TCP; AUDIT too', () => {
    withTable([
      policy('ns/c', 'CUSTOM', [rule({ to: [[f('request.path', [ex('/x')])]] })], { provider: 'opa' }),
      policy('ns/au', 'AUDIT', [rule({ to: [[f('request.method', [ex('PUT')])]] })]),
    ], (t) => {
      const bits = t.evaluateConnectionOf(mtls);
      expect(bits & (EV_CUSTOM | EV_AUDIT)).toBe(EV_CUSTOM | EV_AUDIT);
      expect(t.evaluateRequest({ method: 'GET', path: '/', authority: 'h', ...mtls }) & (EV_CUSTOM | EV_AUDIT)).toBe(0);
    });
  });
});
