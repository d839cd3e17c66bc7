// The authorization filter on a fake stream over a real core: Envoy's 403 and body for a
// denial with its response code details, the rbac.* stats (enforced, shadow, AUDIT), the peer's
// identity and addresses read from the connection, and CUSTOM through a fake ExtAuthzCheck:
// paused until the authorizer answers, continued on allow (its headers seen by DENY/ALLOW),
// its answer on deny, denied without a checker (fail closed), cancelled when the stream ends.
import { describe, expect, it } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import { requestViewOf } from '../../../host/core/request-view.js';
import { AuthzTable } from '../../../host/core/authz/authz-table.js';
import { compileAuthorization } from '../../../host/compile/authorization.js';
import { authorizationFilter, RBAC_DENIED_BODY, istioPolicyId } from '../../../host/http/filters/authorization.js';
import { FilterStatus } from '../../../host/http/filter.js';
import { Stats } from '../../../host/telemetry/stats.js';
import type { ExtAuthzCheck, ExtAuthzVerdict } from '../../../host/http/ext-authz-check.js';
import type { AuthzPolicy } from '../../../host/model/authorization.js';
import type { ConnectionSecurity } from '../../../host/tls/connection-security.js';
import { fakeStream, type FakeRequest, type FakeStream } from '../../helpers/fake-stream.js';
import { f, rule, policy, ex, pre, cidr, port } from '../../helpers/authz-builders.js';

const core = new Core();
let version = 0;

function streamOn(req: FakeRequest & { security?: Partial<ConnectionSecurity>; remote?: string }): FakeStream {
  const s = fakeStream(req);
  const ds = s.downstream as unknown as Record<string, unknown>;
  if (req.security) ds.security = { mutualTls: true, tls: true, peerSpiffeId: null, peerCertificateHash: null, tlsVersion: 'TLSv1.3', alpn: null, sni: null, xfcc: null, ...req.security };
  else ds.security = null;
  if (req.remote) ds.remoteAddress = req.remote;
  ds.localAddress = '10.9.9.9';
  (s as { requestAuth: unknown }).requestAuth = null;
  // The core's view filled with this request, as HttpStream does.
  s.requestView = () => {
    const view = requestViewOf(core);
    let err = view.begin(s.downstream.method, s.downstream.path, s.downstream.authority);
    const h = s.downstream.headers;
    for (let i = 0; err === null && i + 1 < h.length; i += 2) err = view.header(h[i]!, h[i + 1]!);
    return err === null ? view : null;
  };
  return s;
}

function filterFor(policies: AuthzPolicy[], extAuthz: (p: string) => ExtAuthzCheck | null = () => null) {
  const stats = new Stats().downstream;
  const logs: string[] = [];
  const compiled = compileAuthorization(policies);
  const table = AuthzTable.load(core, compiled, ++version);
  const filter = authorizationFilter(table, compiled, { stats, extAuthz, log: (_l, m) => logs.push(m), destinationPort: () => 8080 });
  return { stats, logs, filter };
}

describe('RBAC', () => {
  it('denies with Envoy 403 "RBAC: access denied", counts rbac.denied and names the policy', () => {
    const { stats, filter } = filterFor([policy('foo/deny-admin', 'DENY', [rule({ to: [[f('request.path', [pre('/admin')])]] })])]);
    const s = streamOn({ path: '/admin/x' });
    expect(filter.onRequestHeaders!(s)).toBe(FilterStatus.StopIteration);
    expect(s.replies).toEqual([{ status: '403 Forbidden', headers: [], body: RBAC_DENIED_BODY }]);
    expect(filter.details()).toBe('rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]');
    expect(stats.get('rbac.denied')).toBe(1);
    const ok = streamOn({ path: '/public' });
    expect(filter.onRequestHeaders!(ok)).toBe(FilterStatus.Continue);
    expect(ok.replies).toEqual([]);
    expect(stats.get('rbac.allowed')).toBe(1);
  });

  it('an ALLOW policy nothing matches: denied with [none]', () => {
    const { filter } = filterFor([policy('foo/allow-get', 'ALLOW', [rule({ to: [[f('request.method', [ex('GET')])]] })])]);
    const s = streamOn({ method: 'POST' });
    expect(filter.onRequestHeaders!(s)).toBe(FilterStatus.StopIteration);
    expect(filter.details()).toBe('rbac_access_denied_matched_policy[none]');
  });

  it('reads the peer principal and namespace from mutual TLS only, and the addresses and port', () => {
    const { filter } = filterFor([policy('foo/allow', 'ALLOW', [rule({
      from: [[f('source.principal', [ex('cluster.local/ns/prod/sa/web')]), f('source.namespace', [ex('prod')]), f('source.ip', [cidr('192.168.0.0', 16)])]],
      to: [[f('destination.port', [port(8080)])]],
      when: [f('destination.ip', [cidr('10.9.9.9', 32)])],
    })])]);
    const peer = { peerSpiffeId: 'spiffe://cluster.local/ns/prod/sa/web' };
    expect(filter.onRequestHeaders!(streamOn({ security: peer, remote: '192.168.1.1' }))).toBe(FilterStatus.Continue);
    expect(filter.onRequestHeaders!(streamOn({ security: peer, remote: '::ffff:192.168.1.1' }))).toBe(FilterStatus.Continue);
    expect(filter.onRequestHeaders!(streamOn({ security: { ...peer, mutualTls: false }, remote: '192.168.1.1' }))).toBe(FilterStatus.StopIteration);
    expect(filter.onRequestHeaders!(streamOn({ remote: '192.168.1.1' }))).toBe(FilterStatus.StopIteration);
    expect(filter.onRequestHeaders!(streamOn({ security: peer, remote: '10.0.0.1' }))).toBe(FilterStatus.StopIteration);
  });

  it('dry-run: counted and logged as shadow, never enforced; AUDIT: logged', () => {
    const { stats, logs, filter } = filterFor([
      policy('foo/dry', 'DENY', [rule({ to: [[f('request.path', [ex('/x')])]] })], { dryRun: true }),
      policy('foo/audit', 'AUDIT', [rule({ to: [[f('request.path', [ex('/x')])]] })]),
    ]);
    expect(filter.onRequestHeaders!(streamOn({ path: '/x' }))).toBe(FilterStatus.Continue);
    expect(filter.onRequestHeaders!(streamOn({ path: '/y' }))).toBe(FilterStatus.Continue);
    expect([stats.get('rbac.shadow_denied'), stats.get('rbac.shadow_allowed'), stats.get('rbac.logged'), stats.get('rbac.not_logged')]).toEqual([1, 1, 1, 1]);
    // No enforcing policy: rbac.allowed / denied untouched (Istio has no enforcing RBAC filter then).
    expect([stats.get('rbac.allowed'), stats.get('rbac.denied')]).toEqual([0, 0]);
    expect(logs.some((l) => l.includes('shadow denied GET /x') && l.includes(istioPolicyId('foo/dry', 0)))).toBe(true);
    expect(logs.some((l) => l.includes('AUDIT GET /x matched ns[foo]-policy[audit]-rule[0]'))).toBe(true);
    // Only what the dry-run policies would deny is logged, not every request they would let through.
    expect(logs.filter((l) => l.includes('GET /y'))).toEqual([]);
  });
});

describe('CUSTOM', () => {
  const verdict = (allowed: boolean, more: Partial<ExtAuthzVerdict> = {}): ExtAuthzVerdict => ({ allowed, status: allowed ? 200 : 403, headersToUpstream: [], headersToDownstream: [], body: '', error: false, ...more });
  const custom = [
    policy('foo/ext', 'CUSTOM', [rule({ to: [[f('request.path', [pre('/ext')])]] })], { provider: 'my-authz' }),
    policy('foo/deny', 'DENY', [rule({ when: [f('request.headers', [ex('yes')], [], ['x-deny'])] })]),
  ];
  function fakeCheck(): ExtAuthzCheck & { calls: Array<(v: ExtAuthzVerdict) => void>; cancelled: number; providers: string[] } {
    const c = {
      provider: 'my-authz',
      calls: [] as Array<(v: ExtAuthzVerdict) => void>,
      cancelled: 0,
      providers: [] as string[],
      check(_s: unknown, done: (v: ExtAuthzVerdict) => void) {
        c.calls.push(done);
        return () => void c.cancelled++;
      },
    };
    return c;
  }

  it('asks the provider, pauses, continues on allow', () => {
    const check = fakeCheck();
    const asked: string[] = [];
    const { filter } = filterFor(custom, (p) => (asked.push(p), check));
    const s = streamOn({ path: '/ext/a' });
    expect(filter.onRequestHeaders!(s)).toBe(FilterStatus.StopIteration);
    expect(asked).toEqual(['my-authz']);
    expect(s.resumed).toBe(0);
    check.calls[0]!(verdict(true));
    expect(s.resumed).toBe(1);
    expect(s.replies).toEqual([]);
    // A path no CUSTOM policy matches is not sent to the authorizer.
    expect(filter.onRequestHeaders!(streamOn({ path: '/other' }))).toBe(FilterStatus.Continue);
    expect(check.calls.length).toBe(1);
  });

  it('the authorizer headers go upstream and DENY sees them', () => {
    const check = fakeCheck();
    const { stats, filter } = filterFor(custom, () => check);
    const s = streamOn({ path: '/ext/a' });
    filter.onRequestHeaders!(s);
    check.calls[0]!(verdict(true, { headersToUpstream: [['x-deny', 'yes']] }));
    expect(s.requestHeader('x-deny')).toBe('yes');
    expect(s.resumed).toBe(0);
    expect(s.replies[0]!.body).toBe(RBAC_DENIED_BODY);
    expect(stats.get('rbac.denied')).toBe(1);
  });

  it('a denial answers with the authorizer status, headers and body, flag UAEX', () => {
    const check = fakeCheck();
    const { filter } = filterFor(custom, () => check);
    const s = streamOn({ path: '/ext/a' });
    filter.onRequestHeaders!(s);
    check.calls[0]!(verdict(false, { status: 401, headersToDownstream: [['www-authenticate', 'x']], body: 'no' }));
    expect(s.replies).toEqual([{ status: '401 Unauthorized', headers: [['www-authenticate', 'x']], body: 'no' }]);
    expect(s.flags).toContain('UAEX');
  });

  it('an answer inside check() goes on inline; no checker for the provider denies (fail closed)', () => {
    const sync: ExtAuthzCheck = { provider: 'my-authz', check: (_s, done) => (done(verdict(true)), () => {}) };
    const a = filterFor(custom, () => sync);
    const s = streamOn({ path: '/ext/a' });
    expect(a.filter.onRequestHeaders!(s)).toBe(FilterStatus.Continue);
    expect(s.resumed).toBe(0);
    const none = filterFor(custom, () => null);
    const d = streamOn({ path: '/ext/a' });
    expect(none.filter.onRequestHeaders!(d)).toBe(FilterStatus.StopIteration);
    expect(d.replies[0]!.status).toBe('403 Forbidden');
    expect(d.flags).toContain('UAEX');
  });

  it('a stream that ends while waiting cancels the check; a late answer does nothing', () => {
    const check = fakeCheck();
    const { filter } = filterFor(custom, () => check);
    const s = streamOn({ path: '/ext/a' });
    filter.onRequestHeaders!(s);
    filter.onLog!(s);
    expect(check.cancelled).toBe(1);
    check.calls[0]!(verdict(true));
    expect(s.resumed).toBe(0);
  });
});
