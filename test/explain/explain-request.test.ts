// `wasmesh explain` over seed 002's bookinfo services and DestinationRules plus rules written
// here for what the seeds do not hold (a weighted split, a fault, a retry policy, an
// AuthorizationPolicy): every assertion is on the JSON report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainRequest, type ExplainInput } from '../../host/explain/explain-request.js';
import { ExplainError } from '../../host/explain/explain-error.js';
import { ConfigError } from '../../host/config/index.js';

const SEED = join(import.meta.dirname, '..', '..', 'examples', '002-bookinfo-rules');
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

const RULES = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination: {host: reviews, subset: v2}
  - name: api
    match:
    - uri:
        prefix: /api
      method:
        exact: POST
    route:
    - destination: {host: reviews, subset: v3}
  - name: split
    route:
    - destination: {host: reviews, subset: v1}
      weight: 50
    - destination: {host: reviews, subset: v2}
      weight: 30
    - destination: {host: reviews, subset: v3}
      weight: 20
    timeout: 3s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings, subset: v1}
    fault:
      abort:
        httpStatus: 503
        percentage: {value: 40}
      delay:
        fixedDelay: 2s
        percentage: {value: 10}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
spec:
  hosts: [details]
  http:
  - route:
    - destination: {host: details, subset: v1}
    retries:
      attempts: 4
      perTryTimeout: 500ms
      retryOn: 5xx,reset
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-no-delete
spec:
  selector:
    matchLabels: {app: ratings}
  action: DENY
  rules:
  - to:
    - operation: {methods: [PUT]}
  - to:
    - operation: {methods: [DELETE]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: details-from-productpage
spec:
  selector:
    matchLabels: {app: details}
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/default/sa/bookinfo-productpage]}
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-explain-'));
  copyFileSync(join(SEED, '00-bookinfo-services.yaml'), join(dir, '00-services.yaml'));
  copyFileSync(join(SEED, 'destination-rule-all.yaml'), join(dir, '01-destination-rules.yaml'));
  writeFileSync(join(dir, '02-rules.yaml'), RULES);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const explain = (url: string, more: Partial<ExplainInput> = {}) => explainRequest({ files: [dir], url, from: 'productpage-v1', ...more });

describe('explain over the bookinfo services', () => {
  it('reviews: the weighted split v1/v2/v3 with its percentages, after saying why jason and api did not match', () => {
    const r = explain('http://reviews:9080/reviews/1', { headers: [['end-user', 'alice']] });
    expect(r.route).toMatchObject({ name: 'default/reviews/split', virtualService: 'default/reviews', rule: 'split' });
    expect(r.rules.map((x) => [x.rule, x.matched])).toEqual([['jason', false], ['api', false], ['split', true]]);
    expect(r.rules[0]!.blocks[0]!.failed).toEqual({ field: 'headers.end-user', requires: 'header end-user exact "jason"', why: 'header end-user "alice" does not match exact "jason"' });
    expect(r.rules[1]!.blocks[0]!.failed!.why).toBe('uri prefix "/api" does not match "/reviews/1"');
    expect(r.destinations.map((d) => [d.subset, d.weight, d.percent])).toEqual([['v1', 50, 50], ['v2', 30, 30], ['v3', 20, 20]]);
    expect(r.destinations.filter((d) => d.picked)).toHaveLength(1);
    expect(r.timeoutMs).toBe(3000);
    expect(r.endpoint!.cluster).toBe(r.destinations.find((d) => d.picked)!.cluster);
    expect(r.action.kind).toBe('route');
  });

  it('a missing header and a failing second condition are each named as the first failing condition', () => {
    const r = explain('http://reviews:9080/api/x');
    expect(r.rules[0]!.blocks[0]!.failed!.why).toBe('header end-user missing (needs exact "jason")');
    // uri holds, the method (second condition) fails.
    expect(r.rules[1]!.blocks[0]!.failed).toMatchObject({ field: 'method', why: 'method exact "POST" does not match "GET"' });
    expect(explain('http://reviews:9080/api/x', { method: 'post' }).route!.rule).toBe('api');
  });

  it('header match for end-user jason → reviews v2, endpoint 127.0.0.1:15212', () => {
    const r = explain('http://reviews:9080/reviews/1', { headers: [['End-User', 'jason'], ['user-agent', CHROME]] });
    expect(r.route!.rule).toBe('jason');
    expect(r.rules).toHaveLength(1);
    expect(r.rules[0]!.blocks).toEqual([{ match: 0, holds: true, failed: null }]);
    expect(r.destinations).toMatchObject([{ subset: 'v2', weight: 100, percent: 100, picked: true }]);
    expect(r.endpoint).toMatchObject({ address: '127.0.0.1:15212', labels: { app: 'reviews', version: 'v2' }, index: 0 });
  });

  it('the fault injected on ratings', () => {
    const r = explain('http://ratings:9080/ratings/1');
    expect(r.fault).toEqual({ abort: { httpStatus: 503, percentage: 40 }, delay: { fixedDelayMs: 2000, percentage: 10 } });
  });

  it('the retry policy of details, and Istio\'s default elsewhere', () => {
    const d = explain('http://details:9080/details/1', { principal: 'cluster.local/ns/default/sa/bookinfo-productpage' });
    expect(d.retries).toMatchObject({ attempts: 4, perTryTimeoutMs: 500, source: 'route' });
    expect(d.retries!.retryOn).toEqual(expect.arrayContaining(['5xx', 'reset']));
    expect(explain('http://ratings:9080/ratings/1').retries).toMatchObject({ attempts: 2, source: 'istio default' });
  });

  it('an AuthorizationPolicy denying DELETE on ratings: the policy and its rule; GET allowed', () => {
    const del = explain('http://ratings:9080/ratings/1', { method: 'DELETE' });
    expect(del.authorization).toMatchObject({ decision: 'DENY', policy: 'default/ratings-no-delete', action: 'DENY', rule: 1 });
    expect(explain('http://ratings:9080/ratings/1', { method: 'PUT' }).authorization).toMatchObject({ decision: 'DENY', rule: 0 });
    expect(explain('http://ratings:9080/ratings/1').authorization).toMatchObject({ decision: 'ALLOW', policy: null, policies: ['default/ratings-no-delete'] });
  });

  it('an ALLOW policy: the principal it names is allowed, any other request denied for want of a matching ALLOW', () => {
    const ok = explain('http://details:9080/details/1', { principal: 'cluster.local/ns/default/sa/bookinfo-productpage' });
    expect(ok.authorization).toMatchObject({ decision: 'ALLOW', policy: 'default/details-from-productpage', rule: 0 });
    const no = explain('http://details:9080/details/1');
    expect(no.authorization).toMatchObject({ decision: 'DENY', policy: null, reason: 'ALLOW policies apply to the workload and none matched' });
  });

  it('mTLS: plaintext to a PERMISSIVE server; refused by STRICT (the seed\'s enable-strict-mode.yml)', () => {
    expect(explain('http://reviews:9080/').mtls).toMatchObject({ client: 'DISABLE', server: 'PERMISSIVE' });
    const strict = explainRequest({ files: [dir, join(SEED, 'mtls')], url: 'http://reviews:9080/', from: 'productpage-v1' });
    expect(strict.mtls).toMatchObject({ client: 'DISABLE', server: 'STRICT' });
    expect(strict.mtls!.result).toMatch(/^refused/);
    expect(strict.authorization!.decision).toBe('DENY');
  });

  it('the gateway: the seed\'s bookinfo VirtualService, later match blocks reported', () => {
    const r = explainRequest({ files: [dir, join(SEED, 'gateway.yml'), join(SEED, 'virtual-service.yml')], url: 'http://127.0.0.1:8080/api/v1/products/1', gateway: 'sampleapp-gateway' });
    expect(r.proxy).toMatchObject({ kind: 'gateway', name: 'default/sampleapp-gateway' });
    expect(r.route!.virtualService).toBe('default/bookinfo');
    expect(r.rules[0]!.blocks.map((b) => b.holds)).toEqual([false, false, false, false, true]);
    expect(r.rules[0]!.blocks[0]!.failed!.why).toBe('uri exact "/productpage" does not match "/api/v1/products/1"');
  });

  it('the path as sent, normalized by the mesh\'s pathNormalization (BASE) before routing', () => {
    const r = explain('http://reviews:9080/x/../api/a#frag', { method: 'POST' });
    expect(r.request).toMatchObject({ path: '/x/../api/a', normalizedPath: '/api/a' });
    expect(r.route!.rule).toBe('api');
    expect(explain('http://reviews:9080?q=1').request.path).toBe('/?q=1');
  });

  it('a gateway\'s own AuthorizationPolicy is evaluated before routing', () => {
    const gwDir = mkdtempSync(join(tmpdir(), 'wasmesh-explain-gw-'));
    try {
      writeFileSync(join(gwDir, 'deny-admin.yaml'), [
        'apiVersion: security.istio.io/v1', 'kind: AuthorizationPolicy', 'metadata: {name: ingress-no-admin}',
        'spec:', '  selector: {matchLabels: {istio: ingressgateway}}', '  action: DENY',
        '  rules:', '  - to:', '    - operation: {paths: ["/api/v1/products/admin*"]}', '',
      ].join('\n'));
      const files = [dir, join(SEED, 'gateway.yml'), join(SEED, 'virtual-service.yml'), gwDir];
      const denied = explainRequest({ files, url: 'http://127.0.0.1:8080/api/v1/products/admin', gateway: 'sampleapp-gateway' });
      expect(denied.gatewayAuthorization).toMatchObject({ decision: 'DENY', policy: 'default/ingress-no-admin', rule: 0 });
      const ok = explainRequest({ files, url: 'http://127.0.0.1:8080/productpage', gateway: 'sampleapp-gateway' });
      expect(ok.gatewayAuthorization).toMatchObject({ decision: 'ALLOW', policy: null });
      // A sidecar's report has no gateway decision.
      expect(explain('http://reviews:9080/').gatewayAuthorization).toBeNull();
    } finally {
      rmSync(gwDir, { recursive: true, force: true });
    }
  });

  it('consistent hash: the endpoint follows the hash key, picked by the proxy\'s own hash table', () => {
    const hashDir = mkdtempSync(join(tmpdir(), 'wasmesh-explain-hash-'));
    try {
      copyFileSync(join(SEED, '00-bookinfo-services.yaml'), join(hashDir, '00-services.yaml'));
      writeFileSync(join(hashDir, '01-dr.yaml'), [
        'apiVersion: networking.istio.io/v1', 'kind: DestinationRule', 'metadata: {name: reviews}',
        'spec:', '  host: reviews', '  trafficPolicy:', '    loadBalancer:', '      consistentHash: {httpHeaderName: x-user}', '',
      ].join('\n'));
      const pick = (user: string) => explainRequest({ files: [hashDir], url: 'http://reviews:9080/', headers: [['x-user', user]], from: 'productpage-v1' }).endpoint!;
      const first = pick('u1');
      expect(first).toMatchObject({ lb: 'CONSISTENT_HASH', endpoints: 3, note: 'consistent hash on header x-user' });
      expect(pick('u1').address).toBe(first.address);
      const seen = new Set(Array.from({ length: 24 }, (_, i) => pick(`user-${i}`).address));
      expect(seen.size).toBeGreaterThan(1);
    } finally {
      rmSync(hashDir, { recursive: true, force: true });
    }
  });

  it('a host the mesh does not know leaves through the passthrough (ALLOW_ANY); a gateway path no rule matches is a 404', () => {
    const out = explain('http://nowhere:9080/');
    expect(out.route!.virtualService).toBeNull();
    expect(out.endpoint).toMatchObject({ lb: 'PASSTHROUGH', index: null });
    const gw = explainRequest({ files: [dir, join(SEED, 'gateway.yml'), join(SEED, 'virtual-service.yml')], url: 'http://127.0.0.1:8080/nothing', gateway: 'sampleapp-gateway' });
    expect(gw.action.kind).toBe('no_route');
    expect(gw.route).toBeNull();
    expect(gw.rules.map((x) => x.matched)).toEqual([false]);
  });

  it('clear errors: bad URL, unknown workload or gateway, bad method, bad config', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof ExplainError ? e.code : e instanceof ConfigError ? 'config' : String(e);
      }
      return 'none';
    };
    expect(code(() => explain('reviews/1'))).toBe('bad_url');
    expect(code(() => explain('ftp://reviews/1'))).toBe('bad_url');
    expect(code(() => explain('http://reviews/a b'))).toBe('bad_url');
    expect(code(() => explain('http://reviews:9080/', { from: 'nobody' }))).toBe('unknown_workload');
    expect(() => explain('http://reviews:9080/', { from: 'nobody' })).toThrow(/known: default\/productpage-v1/);
    expect(code(() => explain('http://reviews:9080/', { from: undefined, gateway: 'nope' }))).toBe('unknown_gateway');
    expect(code(() => explain('http://reviews:9080/', { method: 'G T' }))).toBe('bad_method');
    expect(code(() => explainRequest({ files: [join(dir, 'missing.yaml')], url: 'http://a/' }))).toBe('config');
  });
});
