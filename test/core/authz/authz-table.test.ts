// The core's authorization evaluator through its binding: Istio's order (CUSTOM, DENY, ALLOW),
// each value kind, multi-valued attributes, dry-run and AUDIT apart, and the load-time check
// that refuses a bad table instead of trapping later.
import { describe, test, expect } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { AuthzTable, AuthzTableError, EV_DENIED, EV_CUSTOM, EV_SHADOW_ALLOWED, EV_SHADOW_DENIED, EV_AUDIT, namespaceOfPrincipal, type AuthzRequest } from '../../../host/core/authz/authz-table.js';
import { compileAuthorization, AH } from '../../../host/compile/authorization.js';
import type { AuthzField, AuthzPolicy } from '../../../host/model/authorization.js';
import { ex, pre, suf, any, tpl, cidr, port, f, rule, policy } from '../../helpers/authz-builders.js';

const core = new Core();
let version = 0;
const load = (policies: AuthzPolicy[]): AuthzTable => AuthzTable.load(core, compileAuthorization(policies), ++version);

const GET = (path: string, more: Partial<AuthzRequest> = {}): AuthzRequest => ({ method: 'GET', path, authority: 'svc.ns:8080', ...more });

describe('evaluation order', () => {
  test('no policy: allowed, nothing decided', () => {
    const t = load([]);
    expect(t.evaluateRequest(GET('/'))).toBe(0);
    expect(t.policy()).toBe(-1);
    t.release();
  });

  test('an ALLOW policy without rules allows nothing (allow-nothing)', () => {
    const t = load([policy('ns/allow-nothing', 'ALLOW', [])]);
    expect(t.evaluateRequest(GET('/'))).toBe(EV_DENIED);
    expect(t.policy()).toBe(-1);
    t.release();
  });

  test('an ALLOW rule with nothing in it allows everything', () => {
    const t = load([policy('ns/allow-all', 'ALLOW', [rule({})])]);
    expect(t.evaluateRequest(GET('/x'))).toBe(0);
    expect([t.policy(), t.rule()]).toEqual([0, 0]);
    t.release();
  });

  test('DENY beats ALLOW; the deciding policy and rule are reported', () => {
    const t = load([
      policy('ns/allow', 'ALLOW', [rule({ to: [[f('request.path', [pre('/')])]] })]),
      policy('ns/deny', 'DENY', [rule({ to: [[f('request.method', [ex('POST')])]] }), rule({ to: [[f('request.path', [ex('/admin')])]] })]),
    ]);
    expect(t.evaluateRequest(GET('/admin?x=1'))).toBe(EV_DENIED);
    expect([t.policy(), t.rule()]).toEqual([1, 1]);
    expect(t.evaluateRequest(GET('/public'))).toBe(0);
    expect([t.policy(), t.rule()]).toEqual([0, 0]);
    t.release();
  });

  test('ALLOW policies and none matched: denied', () => {
    const t = load([policy('ns/a', 'ALLOW', [rule({ to: [[f('request.method', [ex('GET')])]] })])]);
    expect(t.evaluateRequest({ ...GET('/'), method: 'POST' })).toBe(EV_DENIED);
    expect(t.evaluateRequest(GET('/'))).toBe(0);
    t.release();
  });

  test('CUSTOM is reported first (its provider is asked), DENY/ALLOW still decided', () => {
    const t = load([
      policy('ns/deny', 'DENY', [rule({ to: [[f('request.path', [ex('/d')])]] })]),
      policy('ns/ext', 'CUSTOM', [rule({ to: [[f('request.path', [pre('/ext')])]] })], { provider: 'authz' }),
    ]);
    expect(t.evaluateRequest(GET('/ext/a'))).toBe(EV_CUSTOM);
    expect(t.customPolicy()).toBe(1);
    expect(t.evaluateRequest(GET('/d'))).toBe(EV_DENIED);
    expect(t.customPolicy()).toBe(-1);
    t.release();
  });

  test('dry-run policies decide nothing but the shadow result; AUDIT only reports', () => {
    const t = load([
      policy('ns/dry-deny', 'DENY', [rule({ to: [[f('request.path', [ex('/x')])]] })], { dryRun: true }),
      policy('ns/audit', 'AUDIT', [rule({ to: [[f('request.path', [pre('/')])]] })]),
    ]);
    expect(t.evaluateRequest(GET('/x'))).toBe(EV_SHADOW_DENIED | EV_AUDIT);
    expect([t.shadowPolicy(), t.auditPolicy()]).toEqual([0, 1]);
    expect(t.evaluateRequest(GET('/y'))).toBe(EV_SHADOW_ALLOWED | EV_AUDIT);
    t.release();
    const a = load([policy('ns/dry-allow', 'ALLOW', [rule({ to: [[f('request.path', [ex('/x')])]] })], { dryRun: true })]);
    expect(a.evaluateRequest(GET('/x'))).toBe(EV_SHADOW_ALLOWED);
    expect(a.evaluateRequest(GET('/y'))).toBe(EV_SHADOW_DENIED);
    a.release();
  });
});

describe('values', () => {
  const one = (field: AuthzField, req: AuthzRequest): boolean => {
    const t = load([policy('ns/p', 'DENY', [rule({ when: [field] })])]);
    const denied = (t.evaluateRequest(req) & EV_DENIED) !== 0;
    t.release();
    return denied;
  };

  test('hosts match case-insensitively, with the port as sent (CVE-2021-39155)', () => {
    expect(one(f('request.host', [ex('Example.COM')]), GET('/', { authority: 'EXAMPLE.com' }))).toBe(true);
    expect(one(f('request.host', [ex('example.com')]), GET('/', { authority: 'example.com:80' }))).toBe(false);
    expect(one(f('request.host', [suf('.Example.com')]), GET('/', { authority: 'a.EXAMPLE.COM' }))).toBe(true);
    expect(one(f('request.host', [pre('exa')]), GET('/', { authority: 'EXAmple' }))).toBe(true);
  });

  test('paths: without the query, exact/prefix/suffix/presence and templates', () => {
    expect(one(f('request.path', [ex('/a')]), GET('/a?b'))).toBe(true);
    expect(one(f('request.path', [ex('/a')]), GET('/a#f'))).toBe(true);
    expect(one(f('request.path', [suf('.css')]), GET('/x.css?v=1'))).toBe(true);
    expect(one(f('request.path', [tpl('/foo/{*}/bar')]), GET('/foo/x/bar'))).toBe(true);
    expect(one(f('request.path', [tpl('/foo/{*}/bar')]), GET('/foo/x/y/bar'))).toBe(false);
    expect(one(f('request.path', [tpl('/foo/{*}/bar')]), GET('/foo//bar'))).toBe(false);
    expect(one(f('request.path', [tpl('/foo/{*}')]), GET('/foo/x'))).toBe(true);
    expect(one(f('request.path', [tpl('/foo/{*}')]), GET('/foo/'))).toBe(false);
    expect(one(f('request.path', [tpl('/foo/{**}')]), GET('/foo/a/b/c'))).toBe(true);
    expect(one(f('request.path', [tpl('/foo/{**}')]), GET('/foo/'))).toBe(true);
    expect(one(f('request.path', [tpl('/foo/{**}')]), GET('/foo'))).toBe(false);
    expect(one(f('request.path', [tpl('/{*}/{**}')]), GET('/a/b/c'))).toBe(true);
    expect(one(f('request.path', [tpl('/{*}')]), GET('/a*b'))).toBe(false);
  });

  test('headers: any occurrence; presence; notValues', () => {
    const h = (...hs: Array<[string, string]>) => GET('/', { headers: hs });
    expect(one(f('request.headers', [ex('b')], [], ['X-A']), h(['x-a', 'a'], ['x-a', 'b']))).toBe(true);
    expect(one(f('request.headers', [any], [], ['x-a']), h(['x-a', '']))).toBe(true);
    expect(one(f('request.headers', [any], [], ['x-a']), h(['x-b', 'v']))).toBe(false);
    expect(one(f('request.headers', [], [ex('v')], ['x-a']), h())).toBe(true);
    expect(one(f('request.headers', [], [ex('v')], ['x-a']), h(['x-a', 'v']))).toBe(false);
  });

  test('principals and namespaces from the peer; presence needs a value', () => {
    const p = 'cluster.local/ns/prod/sa/web';
    expect(namespaceOfPrincipal(p)).toBe('prod');
    expect(one(f('source.principal', [ex(p)]), GET('/', { principal: p }))).toBe(true);
    expect(one(f('source.principal', [any]), GET('/', { principal: null }))).toBe(false);
    expect(one(f('source.principal', [], [ex(p)]), GET('/', { principal: null }))).toBe(true);
    expect(one(f('source.namespace', [ex('prod')]), GET('/', { principal: p }))).toBe(true);
    expect(one(f('source.namespace', [pre('pro')]), GET('/', { principal: p }))).toBe(true);
    expect(one(f('source.namespace', [ex('prod')]), GET('/', { principal: 'cluster.local/ns/dev/sa/prod' }))).toBe(false);
  });

  test('CIDR blocks, IPv4 and IPv6, IPv4-mapped peers read as IPv4', () => {
    expect(one(f('source.ip', [cidr('10.1.0.0', 16)]), GET('/', { sourceIp: '10.1.2.3' }))).toBe(true);
    expect(one(f('source.ip', [cidr('10.1.0.0', 16)]), GET('/', { sourceIp: '10.2.2.3' }))).toBe(false);
    expect(one(f('source.ip', [cidr('10.1.0.0', 16)]), GET('/', { sourceIp: '::ffff:10.1.9.9' }))).toBe(true);
    expect(one(f('source.ip', [cidr('10.1.2.3', 32)]), GET('/', { sourceIp: '10.1.2.3' }))).toBe(true);
    expect(one(f('source.ip', [cidr('10.1.2.3', 31)]), GET('/', { sourceIp: '10.1.2.2' }))).toBe(true);
    expect(one(f('remote.ip', [cidr('2001:db8::', 32)]), GET('/', { remoteIp: '2001:db8:1::5' }))).toBe(true);
    expect(one(f('remote.ip', [cidr('2001:db8::', 32)]), GET('/', { remoteIp: '2001:db9::5' }))).toBe(false);
    expect(one(f('remote.ip', [cidr('2001:db8::', 32)]), GET('/', { remoteIp: '10.0.0.1' }))).toBe(false);
    expect(one(f('destination.ip', [cidr('0.0.0.0', 0)]), GET('/', { destinationIp: '1.2.3.4' }))).toBe(true);
    expect(one(f('destination.ip', [cidr('::', 0)]), GET('/', { destinationIp: '1.2.3.4' }))).toBe(false);
  });

  test('ports numerically; SNI; JWT attributes with nested and list claims', () => {
    expect(one(f('destination.port', [port(8080)]), GET('/', { destinationPort: 8080 }))).toBe(true);
    expect(one(f('destination.port', [port(80)]), GET('/', { destinationPort: 8080 }))).toBe(false);
    expect(one(f('destination.port', [port(80)]), GET('/'))).toBe(false);
    expect(one(f('connection.sni', [suf('.local')]), GET('/', { sni: 'a.svc.local' }))).toBe(true);
    const auth = { principal: 'iss/sub', audiences: ['a1', 'a2'], presenter: 'azp', claims: { groups: ['g1', 'g2'], org: { team: 'blue' }, n: 3 } };
    expect(one(f('request.auth.principal', [ex('iss/sub')]), GET('/', { auth }))).toBe(true);
    expect(one(f('request.auth.principal', [any]), GET('/', { auth: null }))).toBe(false);
    expect(one(f('request.auth.audiences', [ex('a2')]), GET('/', { auth }))).toBe(true);
    expect(one(f('request.auth.presenter', [ex('azp')]), GET('/', { auth }))).toBe(true);
    expect(one(f('request.auth.claims', [ex('g2')], [], ['groups']), GET('/', { auth }))).toBe(true);
    expect(one(f('request.auth.claims', [ex('blue')], [], ['org', 'team']), GET('/', { auth }))).toBe(true);
    expect(one(f('request.auth.claims', [ex('3')], [], ['n']), GET('/', { auth }))).toBe(false);
    expect(one(f('request.auth.claims', [], [ex('g1')], ['groups']), GET('/', { auth }))).toBe(false);
  });
});

describe('the load-time check', () => {
  const good = () => compileAuthorization([
    policy('ns/p', 'DENY', [rule({ from: [[f('source.ip', [cidr('10.0.0.0', 8)])]], to: [[f('request.path', [tpl('/a/{*}')]), f('request.host', [ex('h')])]], when: [f('request.headers', [pre('x')], [], ['x-a'])] })]),
  ]);

  test('a good table loads', () => {
    load([]).release();
    AuthzTable.load(core, good(), 1).release();
  });

  test('bad magic, format, length, counts and kinds are refused with their code, never a trap', () => {
    const refuse = (edit: (dv: DataView, b: Uint8Array) => void, code: string) => {
      const c = good();
      const b = c.bytes.slice();
      edit(new DataView(b.buffer), b);
      let err: unknown;
      try {
        AuthzTable.load(core, { ...c, bytes: b }, 9).release();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuthzTableError);
      expect((err as AuthzTableError).code).toBe(code);
    };
    refuse((dv) => dv.setUint32(AH.MAGIC, 0, true), 'bad_magic');
    refuse((dv) => dv.setUint32(AH.FORMAT, 9, true), 'bad_format');
    refuse((dv) => dv.setUint32(AH.LENGTH, 1, true), 'bad_length');
    refuse((dv) => dv.setUint32(AH.RULE_COUNT, 1000, true), 'corrupt');
    refuse((dv) => dv.setUint32(AH.ATTR_MASK, 0, true), 'corrupt');
    refuse((dv) => dv.setUint32(dv.getUint32(AH.POLICIES, true), 7, true), 'unsupported');
    refuse((dv) => dv.setUint32(dv.getUint32(AH.FIELDS, true), 99, true), 'unsupported');
    // evaluation groups: an index out of range, a DENY policy filed under CUSTOM, bounds descending
    refuse((dv) => dv.setUint32(dv.getUint32(AH.ORDER, true), 5, true), 'corrupt');
    refuse((dv) => dv.setUint32(AH.GROUPS + 4, 1, true), 'corrupt');
    refuse((dv) => dv.setUint32(AH.GROUPS + 8, 0, true), 'corrupt');
    // the template `/a/{*}` (the second value) changed to `/}/{*}`: a brace closing nothing
    refuse((dv, b) => {
      const v = dv.getUint32(AH.VALUES, true) + 16;
      b[dv.getUint32(v + 4, true) + 1] = 0x7d;
    }, 'corrupt');
    // every byte flipped, one at a time: refused or accepted, never a trap
    const c = good();
    for (let i = 0; i < c.bytes.length; i++) {
      const b = c.bytes.slice();
      b[i] ^= 0xff;
      try {
        const t = AuthzTable.load(core, { ...c, bytes: b }, 10);
        t.evaluateRequest(GET('/a/b', { sourceIp: '10.0.0.1', headers: [['x-a', 'xy']] }));
        t.release();
      } catch (e) {
        expect(e).toBeInstanceOf(AuthzTableError);
      }
    }
  });

  test('random multi-byte damage: refused or evaluated, never a trap', () => {
    const c = good();
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(c.bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = c.bytes.slice();
      for (const [i, v] of edits) b[i] = v;
      try {
        const t = AuthzTable.load(core, { ...c, bytes: b }, 11);
        t.evaluateRequest(GET('/a/b', { sourceIp: '10.0.0.1', headers: [['x-a', 'xy']] }));
        t.release();
      } catch (e) {
        expect(e).toBeInstanceOf(AuthzTableError);
      }
    }), { numRuns: 2000 });
  });
});
